#include "tests/util/database_scan.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_file_reader.h"

namespace healthwire {
namespace testing {
namespace {

void AppendEntries(rocksdb::Iterator* it, std::string* out) {
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out->append(it->key().data(), it->key().size());
    out->push_back('\n');
    out->append(it->value().data(), it->value().size());
    out->push_back('\n');
  }
}

}  // namespace

bool DatabaseBytes::Contains(const std::string& needle) const {
  return absl::StrContains(keys_and_values, needle) || absl::StrContains(sst_files, needle) ||
         absl::StrContains(wal_files, needle);
}

std::string DatabaseBytes::WhereIs(const std::string& needle) const {
  std::vector<std::string> where;
  if (absl::StrContains(keys_and_values, needle)) where.push_back("families");
  if (absl::StrContains(sst_files, needle)) where.push_back("sst");
  if (absl::StrContains(wal_files, needle)) where.push_back("wal");
  return where.empty() ? "nowhere" : absl::StrJoin(where, ",");
}

absl::StatusOr<DatabaseBytes> ScanDatabase(const std::string& path) {
  DatabaseBytes out;
  rocksdb::Status status =
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &out.family_names);
  if (!status.ok()) return absl::InternalError(status.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : out.family_names) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  status = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descriptors, &handles, &raw);
  if (!status.ok()) return absl::InternalError(status.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  for (rocksdb::ColumnFamilyHandle* handle : handles) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handle));
    AppendEntries(it.get(), &out.keys_and_values);
    status = it->status();
    db->DestroyColumnFamilyHandle(handle);
    if (!status.ok()) return absl::InternalError(status.ToString());
  }
  db.reset();
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    if (entry.path().extension() == ".sst") {
      rocksdb::SstFileReader reader{rocksdb::Options()};
      status = reader.Open(entry.path().string());
      if (!status.ok()) return absl::InternalError(status.ToString());
      std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
      AppendEntries(it.get(), &out.sst_files);
    } else if (entry.path().extension() == ".log") {
      std::ifstream file(entry.path(), std::ios::binary);
      out.wal_files.append(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
  }
  return out;
}

}  // namespace testing
}  // namespace healthwire
