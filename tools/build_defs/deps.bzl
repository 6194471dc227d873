"""healthwire_dependencies(): every repository healthwire's targets need.

Call it from the WORKSPACE of healthwire itself and of any workspace that
depends on healthwire (see README "Depend on healthwire"):

    local_repository(name = "healthwire", path = "...")
    load("@healthwire//tools/build_defs:deps.bzl", "healthwire_dependencies")
    healthwire_dependencies()

Nothing is downloaded. It declares, unless the workspace already has a
repository of that name (then the workspace's own one is used):
  - rules_cc, rules_java, remote_coverage_tools: the offline stand-ins in
    healthwire's third_party/ for what Bazel 4.2.3 would otherwise download
    through its WORKSPACE suffix;
  - com_google_protobuf: Debian's protoc and the well-known types
    (/usr/include/google/protobuf), so Bazel's native proto_library works
    (third_party/com_google_protobuf.BUILD);
  - healthwire_system: Debian's -dev libraries under /usr as cc_library
    targets, and protoc/grpc_cpp_plugin for healthwire's C++ code generation
    (third_party/system.BUILD). Named so it cannot collide with a consumer's
    own repositories.

The paths are found from this file's repository, so they are right both in
healthwire's own workspace and when healthwire is external/healthwire.
"""

def _stand_in_repository_impl(ctx):
    # The stand-in's folder in healthwire's source tree, found through a file
    # of a package next to it (a label of the stand-in itself would cross its
    # WORKSPACE boundary).
    folder = ctx.path(ctx.attr._third_party_build).dirname.get_child(ctx.attr.folder)
    if not folder.exists:
        fail("healthwire_dependencies: no stand-in folder %s" % folder)
    for child in folder.readdir():
        ctx.symlink(child, child.basename)

# A repository made of the files of one of third_party/'s stand-in folders
# (what local_repository does, with a path relative to healthwire instead of
# to the consumer's workspace).
_stand_in_repository = repository_rule(
    implementation = _stand_in_repository_impl,
    attrs = {
        "folder": attr.string(mandatory = True),
        "_third_party_build": attr.label(default = Label("//third_party:BUILD")),
    },
    local = True,
)

def _declare(name, rule, **kwargs):
    if native.existing_rule(name) == None:
        rule(name = name, **kwargs)

def healthwire_dependencies():
    """Declares the repositories healthwire needs (see the file's docstring)."""
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        _declare(name, _stand_in_repository, folder = name)
    _declare(
        "com_google_protobuf",
        native.new_local_repository,
        build_file = str(Label("//third_party:com_google_protobuf.BUILD")),
        path = "/usr",
    )
    _declare(
        "healthwire_system",
        native.new_local_repository,
        build_file = str(Label("//third_party:system.BUILD")),
        path = "/usr",
    )
