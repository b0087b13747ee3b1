#include "discovery/unit_file.h"

#include "common/text.h"

namespace cronitor::discovery {

void UnitFile::add(std::string_view text, std::string_view file) {
  std::string section;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = trim_blank(text.substr(pos, eol - pos));
    pos = eol + 1;
    const int first_line = line_no;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      const auto close = line.find(']');
      section = std::string(line.substr(1, close == std::string_view::npos ? line.size() - 1 : close - 1));
      continue;
    }
    std::string joined;
    // A trailing backslash continues the setting on the next line (comments inside are skipped).
    while (!line.empty() && line.back() == '\\' && pos < text.size()) {
      joined.append(line.substr(0, line.size() - 1));
      joined += ' ';
      ++line_no;
      eol = text.find('\n', pos);
      if (eol == std::string_view::npos) eol = text.size();
      line = trim_blank(text.substr(pos, eol - pos));
      pos = eol + 1;
      while ((line.starts_with("#") || line.starts_with(";")) && pos < text.size()) {
        ++line_no;
        eol = text.find('\n', pos);
        if (eol == std::string_view::npos) eol = text.size();
        line = trim_blank(text.substr(pos, eol - pos));
        pos = eol + 1;
      }
    }
    joined.append(line);
    const auto eq = joined.find('=');
    if (eq == std::string::npos) continue;
    UnitSetting s;
    s.section = section;
    s.key = std::string(trim_blank(std::string_view(joined).substr(0, eq)));
    s.value = std::string(trim_blank(std::string_view(joined).substr(eq + 1)));
    s.file = std::string(file);
    s.line = first_line;
    settings_.push_back(std::move(s));
  }
}

std::vector<const UnitSetting*> UnitFile::list(std::string_view section, std::string_view key) const {
  std::vector<const UnitSetting*> out;
  for (const UnitSetting& s : settings_) {
    if (s.section != section || s.key != key) continue;
    if (s.value.empty()) {
      out.clear();
    } else {
      out.push_back(&s);
    }
  }
  return out;
}

std::string UnitFile::get(std::string_view section, std::string_view key, std::string_view fallback) const {
  std::string out(fallback);
  for (const UnitSetting& s : settings_) {
    if (s.section == section && s.key == key) out = s.value;
  }
  return out;
}

}  // namespace cronitor::discovery
