"""C++ protobuf + gRPC code generation with Debian's protoc and grpc_cpp_plugin.

Bazel's native proto rules want @com_google_protobuf, a download; this macro runs
the system compilers instead and compiles what they generate into cc_libraries.
Messages and gRPC service stubs are separate libraries, so code that only needs
the messages (the store) links protobuf and not gRPC.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

def cc_proto_grpc_library(name, srcs, deps = [], grpc_name = None, visibility = None,
                          grpc_visibility = None):
    """Generates and compiles C++ code for `srcs` (paths relative to the package).

    Args:
      name: the cc_library of the messages (`.pb.h`); links protobuf only.
      srcs: .proto files of this package.
      deps: other cc_proto_grpc_library message targets whose protos these import.
      grpc_name: when set, also a cc_library of this name with the gRPC service
        stubs (`.grpc.pb.h`); it depends on `name` and links gRPC.
      visibility: visibility of the messages library (and of the `<name>_srcs`
        filegroup that dependent proto libraries compile against).
      grpc_visibility: visibility of the service library; default `visibility`.
    """
    pkg = native.package_name()
    proto_paths = " ".join([pkg + "/" + s for s in srcs])
    proto_inputs = srcs + [d + "_srcs" for d in deps]
    bases = [src[:-len(".proto")] for src in srcs]

    message_outs = []
    for base in bases:
        message_outs += [base + ".pb.h", base + ".pb.cc"]
    native.genrule(
        name = name + "_gen",
        srcs = proto_inputs,
        outs = message_outs,
        tools = ["@system//:bin/protoc"],
        cmd = "$(location @system//:bin/protoc) -I. --cpp_out=$(GENDIR) " + proto_paths,
    )
    native.filegroup(
        name = name + "_srcs",
        srcs = proto_inputs,
        visibility = visibility,
    )
    cc_library(
        name = name,
        srcs = [o for o in message_outs if o.endswith(".cc")],
        hdrs = [o for o in message_outs if o.endswith(".h")],
        deps = deps + ["@system//:protobuf"],
        visibility = visibility,
    )

    if grpc_name == None:
        return
    grpc_outs = []
    for base in bases:
        grpc_outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    native.genrule(
        name = grpc_name + "_gen",
        srcs = proto_inputs,
        outs = grpc_outs,
        tools = [
            "@system//:bin/protoc",
            "@system//:bin/grpc_cpp_plugin",
        ],
        cmd = ("$(location @system//:bin/protoc) -I. --grpc_out=$(GENDIR) " +
               "--plugin=protoc-gen-grpc=$(location @system//:bin/grpc_cpp_plugin) " +
               proto_paths),
    )
    cc_library(
        name = grpc_name,
        srcs = [o for o in grpc_outs if o.endswith(".cc")],
        hdrs = [o for o in grpc_outs if o.endswith(".h")],
        deps = [":" + name, "@system//:grpc"],
        visibility = grpc_visibility if grpc_visibility != None else visibility,
    )
