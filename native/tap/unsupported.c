/* TAP devices here are Linux's (/dev/net/tun): elsewhere the addon loads but says why it cannot open one. */
#include <node_api.h>

static napi_value Open(napi_env env, napi_callback_info info) {
  (void)info;
  napi_throw_error(env, "ENOTSUP", "TAP devices need Linux (/dev/net/tun)");
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, Open, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  return exports;
}
