;; A component that imports an interface outside wasi:cli/command.
(component
  (import "example:rockets/launcher" (instance $launcher
    (export "launch" (func))))
  (core module $m (func (export "run") (result i32) i32.const 0))
  (core instance $i (instantiate $m)))
