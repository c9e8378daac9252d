;; A WASI 0.3 command (wasi:cli/run@0.3.0, lifted with the component
;; model's async ABI). What its `run` does is the global MODE, which the
;; tests set in a copy of this text: 0 returns ok, 1 returns err, 2 spins
;; forever, 3 grows memory by 64 MiB and returns err when it cannot.
(component
  (core module $m
    (import "" "task.return" (func $return (param i32)))
    (memory (export "memory") 1)
    (global $mode i32 (i32.const MODE))
    (func (export "run") (result i32)
      (if (i32.eq (global.get $mode) (i32.const 2))
        (then (loop $forever (br $forever))))
      (if (i32.eq (global.get $mode) (i32.const 3))
        (then
          (call $return (i32.eq (memory.grow (i32.const 1024)) (i32.const -1)))
          (return (i32.const 0))))
      (call $return (global.get $mode))
      ;; 0: the task is done (EXIT).
      (i32.const 0))
    (func (export "callback") (param i32 i32 i32) (result i32) (i32.const 0)))
  (core func $task_return (canon task.return (result (result))))
  (core instance $builtins (export "task.return" (func $task_return)))
  (core instance $i (instantiate $m (with "" (instance $builtins))))
  (type $run_type (func async (result (result))))
  (func $run (type $run_type)
    (canon lift (core func $i "run") async (callback (core func $i "callback"))))
  (instance $cli (export "run" (func $run)))
  (export "wasi:cli/run@0.3.0" (instance $cli)))
