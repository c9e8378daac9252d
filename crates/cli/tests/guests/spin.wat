;; Spins forever without calling the host.
(module
  (func $spin (loop $again (br $again)))
  (func (export "_start") (call $spin)))
