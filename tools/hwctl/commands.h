// hwctl's subcommands, one file each (latest_command.cc, ...). main.cc lists
// them; each returns its description and entry point.
#ifndef HEALTHWIRE_TOOLS_HWCTL_COMMANDS_H_
#define HEALTHWIRE_TOOLS_HWCTL_COMMANDS_H_

#include "tools/hwctl/subcommand.h"

namespace healthwire {
namespace hwctl {

const Subcommand& LatestCommand();
const Subcommand& ListCommand();
const Subcommand& WatchCommand();
const Subcommand& UserCommand();
const Subcommand& SendCommand();
const Subcommand& SimulateCommand();
const Subcommand& BackupCommand();
const Subcommand& ExportCommand();
const Subcommand& ReplayCommand();
const Subcommand& StatusCommand();
const Subcommand& EraseCommand();
const Subcommand& BackfillsCommand();
const Subcommand& ReplicasCommand();

}  // namespace hwctl
}  // namespace healthwire

#endif  // HEALTHWIRE_TOOLS_HWCTL_COMMANDS_H_
