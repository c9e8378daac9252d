;; Imports a function no WASI host provides.
(module
  (import "env" "launch_missiles" (func $launch))
  (func (export "_start") (call $launch)))
