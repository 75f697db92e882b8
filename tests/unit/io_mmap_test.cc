// MappedFile: contents, empty files, missing paths and directories, lifetime through shared owners.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "io/mmap_file.h"
#include "test_util.h"

namespace lm {
namespace {

TEST(MappedFile, MapsContents) {
  test::TempFile tmp("io-mmap");
  tmp.Write({1, 2, 3, 250});
  auto f = MappedFile::Open(tmp.path());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->size(), 4u);
  EXPECT_EQ((*f)->path(), tmp.path());
  EXPECT_EQ((*f)->data()[3], 250);
}

TEST(MappedFile, EmptyFileOpens) {
  test::TempFile tmp("io-mmap-empty");
  tmp.Write({});
  auto f = MappedFile::Open(tmp.path());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->size(), 0u);
  EXPECT_NE((*f)->data(), nullptr);
}

TEST(MappedFile, Errors) {
  auto missing = MappedFile::Open("/nonexistent/file.bin");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/file.bin"), std::string::npos);
  const std::string dir = std::filesystem::temp_directory_path().string();
  auto d = MappedFile::Open(dir);
  EXPECT_EQ(d.status().code(), StatusCode::kIoError);
  EXPECT_NE(d.status().message().find("directory"), std::string::npos);
}

TEST(MappedFile, MappingOutlivesTheFileOnDisk) {
  std::shared_ptr<const MappedFile> f;
  {
    test::TempFile tmp("io-mmap-unlink");
    tmp.Write(std::vector<uint8_t>(10000, 7));
    f = *MappedFile::Open(tmp.path());
  }  // file removed; the mapping stays valid
  EXPECT_EQ(f->data()[9999], 7);
}

}  // namespace
}  // namespace lm
