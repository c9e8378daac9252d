;; A worker: says what it does once a second, until stopped.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "worker: one more job done\n")
  (func (export "_start")
    ;; A clock subscription at 200: relative, 1 s (tag 0 = clock).
    (i64.store (i32.const 200) (i64.const 0))           ;; userdata
    (i32.store8 (i32.const 208) (i32.const 0))          ;; tag: clock
    (i32.store (i32.const 216) (i32.const 1))           ;; clock id: monotonic
    (i64.store (i32.const 224) (i64.const 1000000000))  ;; timeout, ns
    (i64.store (i32.const 232) (i64.const 0))           ;; precision
    (i32.store16 (i32.const 240) (i32.const 0))         ;; flags: relative
    (i32.store (i32.const 0) (i32.const 100))           ;; iov.base
    (i32.store (i32.const 4) (i32.const 26))            ;; iov.len
    (loop $forever
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (drop (call $poll_oneoff (i32.const 200) (i32.const 304) (i32.const 1) (i32.const 12)))
      (br $forever))))
