#include "tests/cluster/nats_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace healthwire {
namespace testing {
namespace {

std::string TempRoot() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

std::string NatsServerBinary() {
  const char* binary = std::getenv("NATS_SERVER");
  return binary != nullptr && *binary != '\0' ? binary : "/usr/sbin/nats-server";
}

bool CanConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::unique_ptr<NatsCluster>> NatsCluster::Start(int servers) {
  std::unique_ptr<NatsCluster> cluster(new NatsCluster());
  std::string pattern = absl::StrCat(TempRoot(), "/nats-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  cluster->dir_ = pattern;

  // All ports picked before any server starts, so no two collide.
  std::vector<int> ports;
  while (static_cast<int>(ports.size()) < 2 * servers) {
    const int port = PickFreePort();
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
  }
  std::vector<std::string> routes;
  for (int i = 0; i < servers; ++i) {
    Server server;
    server.name = absl::StrCat("n", i + 1);
    server.client_port = ports[2 * i];
    server.route_port = ports[2 * i + 1];
    server.config_path = absl::StrCat(cluster->dir_, "/", server.name, ".conf");
    server.log_path = absl::StrCat(cluster->dir_, "/", server.name, ".log");
    routes.push_back(absl::StrCat("nats-route://127.0.0.1:", server.route_port));
    cluster->servers_.push_back(server);
  }
  for (const Server& server : cluster->servers_) {
    std::ofstream config(server.config_path);
    config << "server_name: " << server.name << "\n"
           << "listen: 127.0.0.1:" << server.client_port << "\n"
           << "max_payload: 8388608\n"
           << "jetstream {\n"
           << "  store_dir: \"" << cluster->dir_ << "/" << server.name << "\"\n"
           << "  max_memory_store: 268435456\n"
           << "  max_file_store: 8589934592\n"
           << "}\n"
           << "cluster {\n"
           << "  name: healthwire-test\n"
           << "  listen: 127.0.0.1:" << server.route_port << "\n"
           << "  routes: [" << absl::StrJoin(routes, ", ") << "]\n"
           << "}\n";
    if (!config) return absl::InternalError(absl::StrCat("cannot write ", server.config_path));
  }
  for (int i = 0; i < servers; ++i) {
    absl::Status spawned = cluster->Spawn(i);
    if (!spawned.ok()) return spawned;
  }
  for (int i = 0; i < servers; ++i) {
    absl::Status up = cluster->WaitForClientPort(i, absl::Seconds(30));
    if (!up.ok()) return up;
  }
  return cluster;
}

NatsCluster::~NatsCluster() {
  for (int i = 0; i < size(); ++i) {
    if (IsRunning(i)) (void)Kill(i, SIGKILL);
  }
  // The servers' stores can be gigabytes (benchmarks); logs were read before.
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

absl::Status NatsCluster::Spawn(int i) {
  Server& server = servers_[i];
  const std::string binary = NatsServerBinary();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // Dies with the test, even when the test crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    const int log = open(server.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, STDERR_FILENO);
      dup2(log, STDOUT_FILENO);
    }
    execl(binary.c_str(), binary.c_str(), "-c", server.config_path.c_str(),
          static_cast<char*>(nullptr));
    std::perror("execl nats-server");
    _exit(127);
  }
  server.pid = pid;
  return absl::OkStatus();
}

absl::Status NatsCluster::WaitForClientPort(int i, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    int status = 0;
    if (waitpid(servers_[i].pid, &status, WNOHANG) == servers_[i].pid) {
      servers_[i].pid = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("nats-server ", servers_[i].name, " exited at start:\n", Log(i)));
    }
    if (CanConnect(servers_[i].client_port)) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("nats-server ", servers_[i].name, " does not listen:\n", Log(i)));
}

absl::Status NatsCluster::Kill(int i, int signal) {
  Server& server = servers_[i];
  if (server.pid <= 0) return absl::FailedPreconditionError(server.name + " is not running");
  kill(server.pid, signal);
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (absl::Now() < give_up) {
    int status = 0;
    if (waitpid(server.pid, &status, WNOHANG) == server.pid) {
      server.pid = -1;
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(server.pid, SIGKILL);
  waitpid(server.pid, nullptr, 0);
  server.pid = -1;
  return absl::DeadlineExceededError(server.name + " did not exit on the signal; killed");
}

absl::Status NatsCluster::Restart(int i) {
  if (IsRunning(i)) return absl::FailedPreconditionError(servers_[i].name + " is running");
  absl::Status spawned = Spawn(i);
  if (!spawned.ok()) return spawned;
  return WaitForClientPort(i, absl::Seconds(30));
}

std::string NatsCluster::Url(int i) const {
  return absl::StrCat("nats://127.0.0.1:", servers_[i].client_port);
}

std::vector<std::string> NatsCluster::Urls() const {
  std::vector<std::string> urls;
  for (int i = 0; i < size(); ++i) urls.push_back(Url(i));
  return urls;
}

std::string NatsCluster::UrlsJoined() const { return absl::StrJoin(Urls(), ","); }

std::string NatsCluster::Name(int i) const { return servers_[i].name; }

int NatsCluster::IndexOf(const std::string& name) const {
  for (int i = 0; i < size(); ++i) {
    if (servers_[i].name == name) return i;
  }
  return -1;
}

std::string NatsCluster::Log(int i) const {
  std::ifstream in(servers_[i].log_path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace testing
}  // namespace healthwire
