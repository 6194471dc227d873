"""C++ protobuf + gRPC code generation with Debian's protoc and grpc_cpp_plugin.

Bazel's native proto rules want @com_google_protobuf, a download; this macro runs
the system compilers instead and compiles what they generate into cc_libraries.
Messages and gRPC service stubs are separate libraries, so code that only needs
the messages (the store) links protobuf and not gRPC.

Import paths. healthwire's public protos live under `proto/` and are imported
relative to it (`healthwire/v1/healthwire.proto`), as consumers in other
languages expect; C++ includes them the same way (`healthwire/v1/healthwire.pb.h`).
Protos elsewhere (internal ones, e.g. the commit log's) are imported relative to
the repository root. Both roots are computed from the repository this file is
loaded from, so the macro works unchanged when healthwire is an external
repository (`external/healthwire/...`) of a consumer's workspace.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

# The repository healthwire's protos are in: "" in healthwire's own workspace,
# "external/<name>" when a consumer loads this file as @healthwire//...
_REPO_ROOT = Label("//proto:BUILD").workspace_root
_PUBLIC_PROTO_PACKAGE = "proto"

def _join(*parts):
    return "/".join([p for p in parts if p])

def _protoc_roots():
    """-I flags: the public proto root first, then the repository root."""
    return "-I%s -I%s" % (_join(_REPO_ROOT, _PUBLIC_PROTO_PACKAGE), _REPO_ROOT or ".")

def cc_proto_grpc_library(name, srcs, deps = [], grpc_name = None, visibility = None,
                          grpc_visibility = None):
    """Generates and compiles C++ code for `srcs` (paths relative to the package).

    Args:
      name: the cc_library of the messages (`.pb.h`); links protobuf only.
      srcs: .proto files of this package (in //proto they may sit in
        sub-folders: `healthwire/v1/healthwire.proto`).
      deps: other cc_proto_grpc_library message targets whose protos these import.
      grpc_name: when set, also a cc_library of this name with the gRPC service
        stubs (`.grpc.pb.h`); it depends on `name` and links gRPC.
      visibility: visibility of the messages library (and of the `<name>_srcs`
        filegroup that dependent proto libraries compile against).
      grpc_visibility: visibility of the service library; default `visibility`.
    """
    pkg = native.package_name()
    is_public = pkg == _PUBLIC_PROTO_PACKAGE

    # protoc writes each file at <out>/<import path>; Bazel expects it at
    # <bin>/<repo>/<package>/<src path>. For //proto the import path is the
    # src path, so <out> is the package's folder; elsewhere the import path
    # starts at the repository root.
    out_dir = "$(GENDIR)/" + _join(_REPO_ROOT, pkg if is_public else "")
    proto_paths = " ".join(["$(location %s)" % s for s in srcs])
    proto_inputs = srcs + [d + "_srcs" for d in deps]
    bases = [src[:-len(".proto")] for src in srcs]
    includes = ["."] if is_public else []

    message_outs = []
    for base in bases:
        message_outs += [base + ".pb.h", base + ".pb.cc"]
    native.genrule(
        name = name + "_gen",
        srcs = proto_inputs,
        outs = message_outs,
        tools = ["@healthwire_system//:bin/protoc"],
        cmd = "$(location @healthwire_system//:bin/protoc) %s --cpp_out=%s %s" % (
            _protoc_roots(),
            out_dir,
            proto_paths,
        ),
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
        includes = includes,
        deps = deps + ["@healthwire_system//:protobuf"],
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
            "@healthwire_system//:bin/protoc",
            "@healthwire_system//:bin/grpc_cpp_plugin",
        ],
        cmd = ("$(location @healthwire_system//:bin/protoc) %s --grpc_out=%s " +
               "--plugin=protoc-gen-grpc=$(location @healthwire_system//:bin/grpc_cpp_plugin) %s") % (
            _protoc_roots(),
            out_dir,
            proto_paths,
        ),
    )
    cc_library(
        name = grpc_name,
        srcs = [o for o in grpc_outs if o.endswith(".cc")],
        hdrs = [o for o in grpc_outs if o.endswith(".h")],
        includes = includes,
        deps = [":" + name, "@healthwire_system//:grpc"],
        visibility = grpc_visibility if grpc_visibility != None else visibility,
    )
