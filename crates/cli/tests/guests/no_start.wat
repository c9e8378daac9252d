;; A core module with no _start: a library, not a command.
(module (func (export "helper")))
