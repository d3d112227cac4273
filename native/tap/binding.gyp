{
  "targets": [
    {
      "target_name": "tap",
      "sources": ["tap.c"],
      "cflags": ["-std=c11", "-O2", "-Wall", "-Wextra"],
      "conditions": [["OS!='linux'", { "sources!": ["tap.c"], "sources": ["unsupported.c"] }]]
    }
  ]
}
