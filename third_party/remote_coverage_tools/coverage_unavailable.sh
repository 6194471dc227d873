#!/bin/sh
echo "coverage is not available in this offline build (see third_party/README.md)" >&2
exit 1
