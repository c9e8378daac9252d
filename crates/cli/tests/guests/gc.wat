;; The GC proposal: a struct and an array on the GC heap, read back.
;; Prints "gc ok".
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "gc ok\n")
  (type $point (struct (field $x i32) (field $y i32)))
  (type $bytes (array (mut i8)))
  (func (export "_start")
    (local $p (ref null $point))
    (local $a (ref null $bytes))
    (local.set $p (struct.new $point (i32.const 3) (i32.const 4)))
    (local.set $a (array.new $bytes (i32.const 7) (i32.const 1000)))
    (if (i32.ne
          (i32.add
            (i32.add (struct.get $point $x (local.get $p)) (struct.get $point $y (local.get $p)))
            (array.get_u $bytes (local.get $a) (i32.const 999)))
          (i32.const 14))
      (then (unreachable)))
    (if (i32.ne (array.len (local.get $a)) (i32.const 1000)) (then (unreachable)))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
