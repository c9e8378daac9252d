#!/bin/sh
echo not wasm
