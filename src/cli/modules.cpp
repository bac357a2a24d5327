// SPDX-License-Identifier: MIT
#include "cli/modules.hpp"

#include "util/error.hpp"
#include "util/file.hpp"

namespace ksign::cli {

std::vector<core::ModuleFile> collect_modules_or_explain(std::span<const std::string> arguments, bool recursive,
                                                        Output& out, NoModules none)
{
  std::vector<core::SkippedLink> skipped;
  std::vector<core::ModuleFile> modules = core::collect_modules(arguments, recursive, &skipped);
  for (const core::SkippedLink& link : skipped) {
    out.info("skipped {}: a symbolic link to {}, outside {}", util::quote(link.link), util::quote(link.target),
             util::quote(link.directory));
  }
  if (!modules.empty() || none == NoModules::answer) {
    return modules;
  }
  if (!recursive) {
    for (const std::filesystem::path& directory : core::directories_among(arguments)) {
      const std::string name = directory.string();
      if (!core::collect_modules(std::span(&name, 1), true).empty()) {
        throw Error(Errc::failure, "no modules directly in " + util::quote(directory)
                                     + "; its subdirectories hold some (give -r/--recursive to take them too)");
      }
    }
  }
  throw Error(Errc::failure, "no modules (" + core::module_name_patterns() + ") found");
}

std::string about_module(const std::filesystem::path& path, std::string_view problem)
{
  const std::string name = util::quote(path);
  if (problem.find(name) != std::string_view::npos) {
    return std::string(problem);
  }
  return name + ": " + std::string(problem);
}

} // namespace ksign::cli
