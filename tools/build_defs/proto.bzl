"""C++ protobuf + gRPC code generation with Debian's protoc and grpc_cpp_plugin.

Bazel's native proto rules want @com_google_protobuf, a download; this macro runs
the system compilers instead and compiles what they generate into a cc_library.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

def cc_proto_grpc_library(name, srcs, deps = [], grpc = False, visibility = None):
    """Generates and compiles C++ code for `srcs` (paths relative to the package).

    Args:
      name: the cc_library target.
      srcs: .proto files of this package.
      deps: other cc_proto_grpc_library targets whose protos these import.
      grpc: whether to also generate gRPC service stubs.
      visibility: visibility of the cc_library.
    """
    pkg = native.package_name()
    outs = []
    hdrs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        hdrs.append(base + ".pb.h")
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
            hdrs.append(base + ".grpc.pb.h")

    grpc_flags = ""
    tools = ["@system//:bin/protoc"]
    if grpc:
        tools.append("@system//:bin/grpc_cpp_plugin")
        grpc_flags = "--grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=$(location @system//:bin/grpc_cpp_plugin) "

    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = outs,
        tools = tools,
        cmd = ("$(location @system//:bin/protoc) -I. --cpp_out=$(GENDIR) " + grpc_flags +
               " ".join([pkg + "/" + s for s in srcs])),
    )
    native.filegroup(
        name = name + "_srcs",
        srcs = srcs + [d + "_srcs" for d in deps],
        visibility = visibility,
    )
    cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = hdrs,
        deps = deps + ["@system//:protobuf"] + (["@system//:grpc"] if grpc else []),
        visibility = visibility,
    )
