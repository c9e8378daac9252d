;; Loads far past the end of its one-page memory.
(module
  (memory 1)
  (func $peek (result i32) (i32.load (i32.const 0x7fff0000)))
  (func (export "_start") (drop (call $peek))))
