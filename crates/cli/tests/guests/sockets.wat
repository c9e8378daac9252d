;; A wasi:cli/command component that tries to create a TCP and a UDP socket
;; through wasi:sockets. `run` succeeds (exit 0) only when both attempts are
;; refused with `access-denied`; any socket it gets makes it fail (exit 1).
(component
  (type $network-types (instance
    (type $error-code (enum "unknown" "access-denied" "not-supported"
      "invalid-argument" "out-of-memory" "timeout" "concurrency-conflict"
      "not-in-progress" "would-block" "invalid-state" "new-socket-limit"
      "address-not-bindable" "address-in-use" "remote-unreachable"
      "connection-refused" "connection-reset" "connection-aborted"
      "datagram-too-large" "name-unresolvable" "temporary-resolver-failure"
      "permanent-resolver-failure"))
    (export "error-code" (type (eq $error-code)))
    (type $family (enum "ipv4" "ipv6"))
    (export "ip-address-family" (type (eq $family)))))
  (import "wasi:sockets/network@0.2.0" (instance $network (type $network-types)))
  (alias export $network "error-code" (type $error-code))
  (alias export $network "ip-address-family" (type $family))

  (import "wasi:sockets/tcp@0.2.0" (instance $tcp
    (export "tcp-socket" (type (sub resource)))))
  (alias export $tcp "tcp-socket" (type $tcp-socket))
  (import "wasi:sockets/udp@0.2.0" (instance $udp
    (export "udp-socket" (type (sub resource)))))
  (alias export $udp "udp-socket" (type $udp-socket))

  (import "wasi:sockets/tcp-create-socket@0.2.0" (instance $tcp-create
    (export "error-code" (type $ec (eq $error-code)))
    (export "ip-address-family" (type $af (eq $family)))
    (export "tcp-socket" (type $socket (eq $tcp-socket)))
    (export "create-tcp-socket"
      (func (param "address-family" $af) (result (result (own $socket) (error $ec)))))))
  (import "wasi:sockets/udp-create-socket@0.2.0" (instance $udp-create
    (export "error-code" (type $ec (eq $error-code)))
    (export "ip-address-family" (type $af (eq $family)))
    (export "udp-socket" (type $socket (eq $udp-socket)))
    (export "create-udp-socket"
      (func (param "address-family" $af) (result (result (own $socket) (error $ec)))))))

  (core module $memory-module (memory (export "memory") 1))
  (core instance $memory-instance (instantiate $memory-module))
  (alias core export $memory-instance "memory" (core memory $memory))
  (core func $create-tcp
    (canon lower (func $tcp-create "create-tcp-socket") (memory $memory)))
  (core func $create-udp
    (canon lower (func $udp-create "create-udp-socket") (memory $memory)))
  (core instance $host
    (export "create-tcp" (func $create-tcp))
    (export "create-udp" (func $create-udp)))

  (core module $main
    (import "env" "memory" (memory 1))
    (import "host" "create-tcp" (func $create-tcp (param i32 i32)))
    (import "host" "create-udp" (func $create-udp (param i32 i32)))
    ;; The result lands at `area`: a discriminant byte (0 ok, 1 error), then
    ;; at +4 the socket handle or the error code (1 is access-denied).
    (func $denied (param $area i32) (result i32)
      (i32.and
        (i32.eq (i32.load8_u (local.get $area)) (i32.const 1))
        (i32.eq (i32.load8_u offset=4 (local.get $area)) (i32.const 1))))
    (func (export "run") (result i32)
      (call $create-tcp (i32.const 0) (i32.const 16))
      (call $create-udp (i32.const 0) (i32.const 32))
      ;; run's result<_, _>: 0 is ok, 1 is error.
      (i32.eqz (i32.and (call $denied (i32.const 16)) (call $denied (i32.const 32))))))
  (core instance $main-instance (instantiate $main
    (with "env" (instance $memory-instance))
    (with "host" (instance $host))))

  (func $run (result (result))
    (canon lift (core func $main-instance "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance)))
