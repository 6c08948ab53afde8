// so8t/report/markdown.hpp: user text (model names, paths) placed in a Markdown report as text, never as markup.
//
// A model called `<script>` or `a|b` must neither inject HTML nor split a table cell (GitHub-flavoured Markdown
// ends a cell at any unescaped '|', even inside a code span). CommonMark lets a backslash escape any ASCII
// punctuation character; markdown_text escapes those that mean something in the middle of a line (emphasis,
// code, links, strike-through, cells) and writes '<', '>', '&' as HTML entities; a line break would end a table
// row and becomes a space. The text is never at the start of a line, so '#', '-', '1.' need nothing.
#pragma once

#include <string>

namespace so8t::report {

/// `s` as literal Markdown text, safe inside a table cell.
inline std::string markdown_text(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (const char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\n': case '\r': out += ' '; break;
      case '\\': case '`': case '*': case '_': case '[': case ']': case '|': case '~':
        out += '\\';
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace so8t::report
