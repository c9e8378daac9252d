;; Throws an exception that nothing catches: the guest traps.
(module
  (tag $oops (param i32))
  (func (export "_start") (throw $oops (i32.const 7))))
