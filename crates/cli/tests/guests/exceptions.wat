;; C++-style exceptions, as clang emits them with -fwasm-exceptions: a tag
;; with a pointer payload thrown two frames down, a cleanup pad (a
;; destructor) that catches everything by reference and rethrows it with
;; throw_ref, and a handler that catches the tag. Prints
;; "caught 42 after cleanup".
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "caught 42 after cleanup\n")
  (tag $cpp_exception (param i32))
  (global $cleaned (mut i32) (i32.const 0))
  (func $throw_it (param $payload i32)
    (throw $cpp_exception (local.get $payload)))
  (func $with_cleanup (param $payload i32)
    (block $pad (result exnref)
      (try_table (catch_all_ref $pad)
        (call $throw_it (local.get $payload)))
      (return))
    (global.set $cleaned (i32.const 1))
    (throw_ref))
  (func (export "_start")
    (local $got i32)
    (block $handler (result i32)
      (try_table (catch $cpp_exception $handler)
        (call $with_cleanup (i32.const 42)))
      (unreachable))
    (local.set $got)
    (if (i32.and (i32.eq (local.get $got) (i32.const 42)) (global.get $cleaned))
      (then
        (i32.store (i32.const 0) (i32.const 64))
        (i32.store (i32.const 4) (i32.const 24))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
      (else (unreachable)))))
