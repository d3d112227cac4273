/*
 * A Linux TAP device for Node, for src/io/tap.ts (the only module that loads it).
 *
 * open() creates the device, or attaches to an existing one of that name, with TUNSETIFF
 * (IFF_TAP | IFF_NO_PI: whole Ethernet frames, no 4-byte packet-information prefix;
 * Documentation/networking/tuntap.rst). The descriptor is non-blocking and watched with uv_poll
 * on Node's own loop: a blocking read in the thread pool would hold a worker forever and keep the
 * process from exiting. When the descriptor is readable, the read loop drains every ready frame
 * (up to the room the caller gave) into one buffer the JS side owns, records [offset, length]
 * pairs in an Int32Array, and calls back once for the batch, so no JS object is made per frame
 * here. A frame still in the kernel when the batch is full waits for the next loop turn (the
 * poll is level-triggered), which lets sockets and timers run in between.
 *
 * write() sends one frame per call and returns the bytes written or -errno: the caller counts
 * EAGAIN (the device's queue is full) as a drop rather than waiting. close() stops the poll and
 * closes the descriptor; a device this process created without TUNSETPERSIST goes with it.
 *
 * Errors from the JS side's point of view: open() throws an Error whose `code` is the errno name
 * (EPERM without CAP_NET_ADMIN, ENOENT without /dev/net/tun, EBUSY when another process holds a
 * single-queue device, EINVAL when the name is a TUN or another kind of device). A device that
 * disappears later (ip link del) makes poll report an error: the callback gets (0, errno) once
 * and polling stops.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <node_api.h>
#include <uv.h>

/* The largest read: a 64 KiB MTU plus Ethernet and two VLAN tags, rounded up. A shorter read
 * would silently truncate the frame (tun_put_user copies what fits). */
#define MAX_FRAME 65560

typedef struct {
  napi_env env;
  int fd;
  uv_poll_t poll;
  int polling;
  int closed;      /* close() ran: descriptor and references released */
  int uv_closed;   /* uv_close finished: the poll handle's memory may go */
  int finalized;   /* the JS handle was collected */
  napi_ref cb;     /* function (count, errno) */
  napi_ref buf_ref;
  napi_ref meta_ref;
  uint8_t *buf;
  size_t buf_len;
  int32_t *meta;
  size_t meta_pairs;
  napi_async_context actx;
} Tap;

static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EBADFD: return "EBADFD";
    case EIO: return "EIO";
    case EAGAIN: return "EAGAIN";
    case ENOBUFS: return "ENOBUFS";
    case EMSGSIZE: return "EMSGSIZE";
    case EMFILE: return "EMFILE";
    default: return "EUNKNOWN";
  }
}

static void throw_errno(napi_env env, const char *what, int e) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(e));
  napi_throw_error(env, errno_name(e), msg);
}

static void maybe_free(Tap *t) {
  if (t->uv_closed && t->finalized) free(t);
}

static void on_uv_closed(uv_handle_t *h) {
  Tap *t = (Tap *)h->data;
  t->uv_closed = 1;
  maybe_free(t);
}

static void release(Tap *t) {
  if (t->closed) return;
  t->closed = 1;
  if (t->polling) { uv_poll_stop(&t->poll); t->polling = 0; }
  uv_close((uv_handle_t *)&t->poll, on_uv_closed);
  close(t->fd);
  t->fd = -1;
  napi_delete_reference(t->env, t->cb);
  napi_delete_reference(t->env, t->buf_ref);
  napi_delete_reference(t->env, t->meta_ref);
  napi_async_destroy(t->env, t->actx);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  Tap *t = (Tap *)data;
  release(t);
  t->finalized = 1;
  maybe_free(t);
}

static void call_js(Tap *t, int count, int err) {
  napi_env env = t->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2], result;
  napi_get_reference_value(env, t->cb, &cb);
  napi_get_global(env, &recv); /* napi_make_callback wants an object receiver */
  napi_create_int32(env, count, &argv[0]);
  napi_create_int32(env, err, &argv[1]);
  /* napi_make_callback, not napi_call_function: it runs process.nextTick and promise jobs after. */
  if (napi_make_callback(env, t->actx, recv, cb, 2, argv, &result) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  Tap *t = (Tap *)h->data;
  if (t->closed) return;
  int n = 0, err = 0;
  size_t off = 0;
  for (;;) {
    if ((size_t)n >= t->meta_pairs || t->buf_len - off < MAX_FRAME) break;
    ssize_t r = read(t->fd, t->buf + off, MAX_FRAME);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (r == 0) { err = EIO; break; }
    t->meta[2 * n] = (int32_t)off;
    t->meta[2 * n + 1] = (int32_t)r;
    n++;
    off += ((size_t)r + 7) & ~(size_t)7;
  }
  /* libuv reports POLLERR as a status without reading; the read above gives the real errno. */
  if (status < 0 && err == 0 && n == 0) err = -status;
  if (err != 0 && t->polling) { uv_poll_stop(&t->poll); t->polling = 0; }
  if (n > 0 || err != 0) call_js(t, n, err);
}

/* open(name, buf: Uint8Array, meta: Int32Array, cb) -> { handle, name } */
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) { napi_throw_type_error(env, "EINVAL", "open(name, buf, meta, cb)"); return NULL; }

  char name[IFNAMSIZ + 1];
  size_t name_len = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "name must be a string");
    return NULL;
  }
  if (name_len >= IFNAMSIZ) { napi_throw_error(env, "EINVAL", "interface name longer than 15 bytes"); return NULL; }

  napi_typedarray_type ty;
  size_t len;
  void *data;
  napi_value ab;
  size_t boff;
  if (napi_get_typedarray_info(env, argv[1], &ty, &len, &data, &ab, &boff) != napi_ok || ty != napi_uint8_array || len < MAX_FRAME) {
    napi_throw_type_error(env, "EINVAL", "buf must be a Uint8Array of at least 65560 bytes");
    return NULL;
  }
  uint8_t *buf = (uint8_t *)data;
  size_t buf_len = len;
  if (napi_get_typedarray_info(env, argv[2], &ty, &len, &data, &ab, &boff) != napi_ok || ty != napi_int32_array || len < 2) {
    napi_throw_type_error(env, "EINVAL", "meta must be an Int32Array of at least 2 elements");
    return NULL;
  }
  int32_t *meta = (int32_t *)data;
  size_t meta_pairs = len / 2;
  napi_valuetype vt;
  napi_typeof(env, argv[3], &vt);
  if (vt != napi_function) { napi_throw_type_error(env, "EINVAL", "cb must be a function"); return NULL; }

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) { throw_errno(env, "open /dev/net/tun", errno); return NULL; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, name_len);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, "ioctl TUNSETIFF", e);
    return NULL;
  }

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  Tap *t = (Tap *)calloc(1, sizeof *t);
  if (t == NULL) { close(fd); napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  t->env = env;
  t->fd = fd;
  t->buf = buf;
  t->buf_len = buf_len;
  t->meta = meta;
  t->meta_pairs = meta_pairs;
  int rc = uv_poll_init(loop, &t->poll, fd);
  if (rc != 0) {
    close(fd);
    free(t);
    throw_errno(env, "uv_poll_init", -rc);
    return NULL;
  }
  t->poll.data = t;
  napi_create_reference(env, argv[3], 1, &t->cb);
  napi_create_reference(env, argv[1], 1, &t->buf_ref);
  napi_create_reference(env, argv[2], 1, &t->meta_ref);
  napi_value res_name;
  napi_create_string_utf8(env, "tap", NAPI_AUTO_LENGTH, &res_name);
  napi_async_init(env, NULL, res_name, &t->actx);
  rc = uv_poll_start(&t->poll, UV_READABLE, on_poll);
  if (rc != 0) {
    t->finalized = 1;
    release(t);
    throw_errno(env, "uv_poll_start", -rc);
    return NULL;
  }
  t->polling = 1;

  napi_value handle, out, ifname;
  napi_create_external(env, t, finalize, NULL, &handle);
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "handle", handle);
  napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &ifname);
  napi_set_named_property(env, out, "name", ifname);
  return out;
}

static Tap *get_tap(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return (Tap *)p;
}

/* write(handle, frame: Uint8Array) -> bytes written, or -errno */
static napi_value Write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Tap *t = argc < 2 ? NULL : get_tap(env, argv[0]);
  int result;
  napi_typedarray_type ty;
  size_t len;
  void *data;
  napi_value ab;
  size_t boff;
  if (t == NULL || t->closed) result = -EBADF;
  else if (napi_get_typedarray_info(env, argv[1], &ty, &len, &data, &ab, &boff) != napi_ok || ty != napi_uint8_array) result = -EINVAL;
  else {
    ssize_t r;
    do r = write(t->fd, data, len); while (r < 0 && errno == EINTR);
    result = r < 0 ? -errno : (int)r;
  }
  napi_create_int32(env, result, &out);
  return out;
}

/* close(handle) */
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Tap *t = argc < 1 ? NULL : get_tap(env, argv[0]);
  if (t != NULL) release(t);
  return NULL;
}

/* strerror(errno) -> text, so the JS side words write errors as open() does. */
static napi_value StrError(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t e = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_get_value_int32(env, argv[0], &e);
  char text[160];
  snprintf(text, sizeof text, "%s (%s)", strerror(e), errno_name(e));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out);
  return out;
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback fn; } fns[] = {
    { "open", Open }, { "write", Write }, { "close", Close }, { "strerror", StrError },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  napi_value max;
  napi_create_int32(env, MAX_FRAME, &max);
  napi_set_named_property(env, exports, "MAX_FRAME", max);
  return exports;
}
