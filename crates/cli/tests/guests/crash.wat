;; Traps in a function with a name, called from _start.
(module
  (func $explode unreachable)
  (func $outer (call $explode))
  (func (export "_start") (call $outer)))
