;; Allocates 1 MiB GC arrays and keeps every one alive in a linked list,
;; forever: only the memory cap can end it.
(module
  (type $bytes (array (mut i8)))
  (type $node (struct (field $data (ref $bytes)) (field $next (ref null $node))))
  (func (export "_start")
    (local $head (ref null $node))
    (loop $again
      (local.set $head
        (struct.new $node
          (array.new_default $bytes (i32.const 1048576))
          (local.get $head)))
      (br $again))))
