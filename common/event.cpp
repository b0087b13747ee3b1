// Decoding half of the run event format (common/event.h). simdjson parses the line into its DOM,
// whose values are handed, in document order, to a handler that keeps the last value of each field
// the format knows, as the SAX events nlohmann_json's parser would send for the same text. A line
// simdjson refuses (or one longer than it is asked about) goes to nlohmann's SAX parser, whose
// verdict stands: only those lines pay for its slower parse, and what decode accepts or refuses
// is what it was before (tests/common/event_decode_diff_test.cpp holds both parsers and the DOM
// decoder of tests/common/event_decode_reference.h together). Then every field is checked against
// the limits of the wire format, in the order and with the messages the DOM decoder had.
#include "common/event.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/event_json.h"

namespace cronitor {
namespace {

using json = nlohmann::json;

/// The fields decode reads; any other key is ignored (its value is still parsed).
enum class Field : uint8_t {
  kV,
  kKey,
  kRunId,
  kState,
  kTs,
  kHost,
  kPid,
  kUid,
  kEnv,
  kWrapperPid,
  kExitCode,
  kSignal,
  kOom,
  kTimeout,
  kDurationMs,
  kOutputTail,
  kError,
  kPeakMemoryBytes,
  kMetrics,
  kNone,  // a key decode does not read
};
constexpr size_t kFieldCount = static_cast<size_t>(Field::kNone);
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "v",      "key",     "run_id",      "state",       "ts",        "host",
    "pid",    "uid",     "env",         "wrapper_pid", "exit_code", "signal",
    "oom",    "timeout", "duration_ms", "output_tail", "error",     "peak_memory_bytes",
    "metrics"};

Field field_named(const std::string& key) {
  // Every key of every line comes here: look only at the names of its length.
  auto is = [&](Field f) { return key == kFieldNames[static_cast<size_t>(f)]; };
  auto first = [&](std::initializer_list<Field> fs) {
    for (Field f : fs)
      if (is(f)) return f;
    return Field::kNone;
  };
  switch (key.size()) {
    case 1:
      return first({Field::kV});
    case 2:
      return first({Field::kTs});
    case 3:
      return first({Field::kKey, Field::kPid, Field::kUid, Field::kEnv, Field::kOom});
    case 4:
      return first({Field::kHost});
    case 5:
      return first({Field::kState, Field::kError});
    case 6:
      return first({Field::kRunId, Field::kSignal});
    case 7:
      return first({Field::kTimeout, Field::kMetrics});
    case 9:
      return first({Field::kExitCode});
    case 11:
      return first({Field::kWrapperPid, Field::kDurationMs, Field::kOutputTail});
    case 17:
      return first({Field::kPeakMemoryBytes});
    default:
      return Field::kNone;
  }
}

/// The value a field had, as the parser reported it. Only the members of its kind are set.
struct Value {
  enum class Kind : uint8_t { kAbsent, kNull, kBool, kSigned, kUnsigned, kFloat, kString, kObject, kArray };
  Kind kind = Kind::kAbsent;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  std::string s;

  bool is_number_integer() const { return kind == Kind::kSigned || kind == Kind::kUnsigned; }
};

/// Marks a metric whose value is not a number. The parser refuses numbers that are not finite
/// (nlohmann's error 406), so no number of the line reads as NaN.
constexpr double kNotANumber = std::numeric_limits<double>::quiet_NaN();

/// The SAX handler: the top-level object's fields, the last one of each name winning (as in
/// nlohmann's DOM, where a repeated key overwrites), and the entries of the "metrics" object.
/// Whatever nests below is parsed (and so validated) and dropped.
class EventFields {
 public:
  Value& operator[](Field f) { return values_[static_cast<size_t>(f)]; }
  std::map<std::string, double>& metrics() { return metrics_; }
  bool top_is_object() const { return top_is_object_; }

  // nlohmann's SAX interface (nlohmann::json::sax_parse): true goes on parsing.
  bool null() { return scalar(Value::Kind::kNull, kNotANumber); }
  bool boolean(bool b) {
    if (Value* v = scalar_slot()) v->b = b;
    return scalar(Value::Kind::kBool, kNotANumber);
  }
  bool number_integer(json::number_integer_t i) {
    if (Value* v = scalar_slot()) v->i = i;
    return scalar(Value::Kind::kSigned, static_cast<double>(i));
  }
  bool number_unsigned(json::number_unsigned_t u) {
    if (Value* v = scalar_slot()) v->u = u;
    return scalar(Value::Kind::kUnsigned, static_cast<double>(u));
  }
  bool number_float(json::number_float_t d, const json::string_t&) { return scalar(Value::Kind::kFloat, d); }
  bool string(json::string_t& s) {
    // Copied, not moved: the lexer keeps its buffer's capacity for the next string.
    if (Value* v = scalar_slot()) v->s.assign(s);
    return scalar(Value::Kind::kString, kNotANumber);
  }
  bool binary(json::binary_t&) { return true; }  // never called for JSON text
  bool start_object(std::size_t) { return open(Value::Kind::kObject); }
  bool start_array(std::size_t) { return open(Value::Kind::kArray); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (depth_ == 1 && top_is_object_)
      field_ = field_named(k);
    else if (depth_ == 2 && in_metrics_)
      metric_ = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  // The slot of a field value about to be reported, or null when it goes elsewhere.
  Value* scalar_slot() { return depth_ == 1 && top_is_object_ && field_ != Field::kNone ? &(*this)[field_] : nullptr; }
  bool scalar(Value::Kind kind, double as_metric) {
    if (Value* v = scalar_slot())
      v->kind = kind;
    else if (depth_ == 2 && in_metrics_)
      metrics_.insert_or_assign(metric_, as_metric);
    return true;
  }
  bool open(Value::Kind kind) {
    if (depth_ == 0) {
      top_is_object_ = kind == Value::Kind::kObject;
    } else if (Value* v = scalar_slot()) {
      v->kind = kind;
      if (field_ == Field::kMetrics && kind == Value::Kind::kObject) {
        metrics_.clear();  // a repeated "metrics" replaces the earlier object whole
        in_metrics_ = true;
      }
    } else if (depth_ == 2 && in_metrics_) {
      metrics_.insert_or_assign(metric_, kNotANumber);
    }
    ++depth_;
    return true;
  }
  bool close() {
    if (--depth_ == 1) in_metrics_ = false;
    return true;
  }

  std::array<Value, kFieldCount> values_;
  std::map<std::string, double> metrics_;
  std::string metric_;          // the key of the metrics entry being parsed
  int depth_ = 0;               // objects and arrays open around the next value
  Field field_ = Field::kNone;  // the top-level key of the value being parsed
  bool top_is_object_ = false;
  bool in_metrics_ = false;  // inside the "metrics" object (depth_ >= 2)
};

/// simdjson's document handed to `fields` as the SAX calls nlohmann's parser makes for the same
/// text, in document order. nlohmann reports an integer written without '-' as unsigned and one
/// with it as signed; simdjson reads "-0" as the integer 0, which decode treats as "0" everywhere.
void walk(simdjson::dom::element e, EventFields& fields, std::string& scratch) {
  using T = simdjson::dom::element_type;
  switch (e.type()) {
    case T::OBJECT: {
      const simdjson::dom::object o = e.get_object().value_unsafe();
      fields.start_object(o.size());
      for (const auto [k, v] : o) {
        scratch.assign(k);
        fields.key(scratch);
        walk(v, fields, scratch);
      }
      fields.end_object();
      return;
    }
    case T::ARRAY: {
      const simdjson::dom::array a = e.get_array().value_unsafe();
      fields.start_array(a.size());
      for (const simdjson::dom::element v : a) walk(v, fields, scratch);
      fields.end_array();
      return;
    }
    case T::INT64: {
      const int64_t i = e.get_int64().value_unsafe();
      if (i >= 0)
        fields.number_unsigned(static_cast<uint64_t>(i));
      else
        fields.number_integer(i);
      return;
    }
    case T::UINT64:
      fields.number_unsigned(e.get_uint64().value_unsafe());
      return;
    case T::DOUBLE:
      scratch.clear();
      fields.number_float(e.get_double().value_unsafe(), scratch);
      return;
    case T::STRING:
      scratch.assign(e.get_string().value_unsafe());
      fields.string(scratch);
      return;
    case T::BOOL:
      fields.boolean(e.get_bool().value_unsafe());
      return;
    case T::NULL_VALUE:
      fields.null();
      return;
  }
}

/// simdjson's parse of `line` by this thread's parser, or an error (refused, or longer than
/// kFastJsonBytes). The document lives until the thread's next parse.
simdjson::simdjson_result<simdjson::dom::element> fast_parse(std::string_view line) {
  if (line.size() > kFastJsonBytes) return simdjson::CAPACITY;
  // The parser keeps its buffers, sized for the longest line it has parsed, for the next one
  // (measured: 14 KiB after a 300-byte line, 134 KiB after one of 8 KiB), among them the padded
  // copy of the text it parses (it reads up to SIMDJSON_PADDING bytes past the end).
  thread_local simdjson::dom::parser parser(kFastJsonBytes);
  return parser.parse(line.data(), line.size());
}

/// Fills `fields` from simdjson's parse; false when simdjson did not accept the line.
bool fast_fields(std::string_view line, EventFields& fields) {
  simdjson::dom::element root;
  if (fast_parse(line).get(root) != simdjson::SUCCESS) return false;
  std::string scratch;
  walk(root, fields, scratch);
  return true;
}

std::string quoted(Field f) { return std::string("\"") + std::string(kFieldNames[static_cast<size_t>(f)]) + "\""; }

class Reader {
 public:
  explicit Reader(EventFields& fields) : fields_(fields) {}

  Result<Value*> field(Field f, bool required) const {
    Value& v = fields_[f];
    if (v.kind == Value::Kind::kAbsent) {
      if (required) return fail("missing field " + quoted(f));
      return nullptr;
    }
    return &v;
  }

  /// Moves the string out: each field is read once.
  Result<std::string> str(Field f, size_t max, bool allow_empty = false, bool allow_nul = false) const {
    auto v = field(f, true);
    if (!v) return std::unexpected(v.error());
    if ((*v)->kind != Value::Kind::kString) return fail("field " + quoted(f) + " is not a string");
    std::string& s = (*v)->s;
    if (s.size() > max) return fail("field " + quoted(f) + " is longer than " + std::to_string(max) + " bytes");
    if (s.empty() && !allow_empty) return fail("field " + quoted(f) + " is empty");
    // nlohmann validates UTF-8 while parsing; only NUL from "\u0000" can still sneak in.
    if (!allow_nul && s.find('\0') != std::string::npos) return fail("field " + quoted(f) + " holds a NUL");
    return std::move(s);
  }

  Result<std::optional<std::string>> opt_str(Field f, size_t max, bool required) const {
    auto v = field(f, required);
    if (!v) return std::unexpected(v.error());
    if (*v == nullptr || (*v)->kind == Value::Kind::kNull) return std::optional<std::string>{};
    auto s = str(f, max, true);
    if (!s) return std::unexpected(s.error());
    return std::optional<std::string>(std::move(*s));
  }

  Result<int64_t> integer(Field f, int64_t lo, int64_t hi) const {
    auto v = field(f, true);
    if (!v) return std::unexpected(v.error());
    const Value& j = **v;
    if (!j.is_number_integer()) return fail("field " + quoted(f) + " is not an integer");
    if (j.kind == Value::Kind::kUnsigned && j.u > static_cast<uint64_t>(hi))
      return fail("field " + quoted(f) + " is out of range");
    const int64_t n = j.kind == Value::Kind::kUnsigned ? static_cast<int64_t>(j.u) : j.i;
    if (n < lo || n > hi) return fail("field " + quoted(f) + " is out of range");
    return n;
  }

  Result<bool> boolean(Field f) const {
    auto v = field(f, true);
    if (!v) return std::unexpected(v.error());
    if ((*v)->kind != Value::Kind::kBool) return fail("field " + quoted(f) + " is not a boolean");
    return (*v)->b;
  }

  /// The "metrics" object; `m` is its field. Entries are checked in key order, as a std::map
  /// iterates them.
  Result<std::map<std::string, double>> metrics(const Value& m) const {
    if (m.kind != Value::Kind::kObject) return fail("field \"metrics\" is not an object");
    auto& entries = fields_.metrics();
    if (entries.size() > kMaxMetrics)
      return fail("field \"metrics\" has more than " + std::to_string(kMaxMetrics) + " entries");
    for (const auto& [name, v] : entries) {
      if (!valid_metric_name(name))
        return fail("metric name is invalid (1..64 of [A-Za-z0-9_.-], starting with a letter)");
      if (std::isnan(v)) return fail("metric \"" + name + "\" is not a number");
      if (!std::isfinite(v)) return fail("metric \"" + name + "\" is not finite");
    }
    return std::move(entries);
  }

 private:
  EventFields& fields_;
};

#define TRY_ASSIGN(lhs, expr)                        \
  do {                                               \
    auto tmp_ = (expr);                              \
    if (!tmp_) return std::unexpected(tmp_.error()); \
    lhs = std::move(*tmp_);                          \
  } while (0)

}  // namespace

bool fast_json_accepts(std::string_view text) { return fast_parse(text).error() == simdjson::SUCCESS; }

int nesting_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

Result<RunEvent> decode(std::string_view line) {
  if (line.size() > kMaxLineBytes) return fail("event line is longer than " + std::to_string(kMaxLineBytes) + " bytes");
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.find('\n') != std::string_view::npos) return fail("event holds more than one line");
  // A hostile line cannot nest deep: checked before parsing, so the parse below is bounded too,
  // and a line that is both too deep and not JSON gets this message, as it always did.
  if (nesting_depth(line) > kMaxNesting)
    return fail("event nests deeper than " + std::to_string(kMaxNesting) + " levels");
  EventFields fields;
  if (!fast_fields(line, fields) && !json::sax_parse(line.begin(), line.end(), &fields))
    return fail("event is not valid JSON");
  if (!fields.top_is_object()) return fail("event is not a JSON object");
  Reader r(fields);
  RunEvent e;
  int64_t v = 0;
  TRY_ASSIGN(v, r.integer(Field::kV, 0, 1000));
  if (v != kEventVersion) return fail("unsupported event version " + std::to_string(v));
  TRY_ASSIGN(e.key, r.str(Field::kKey, kMaxKeyBytes));
  if (!valid_key(e.key)) return fail("field \"key\" holds control characters");
  TRY_ASSIGN(e.run_id, r.str(Field::kRunId, 36));
  if (!valid_run_id(e.run_id)) return fail("field \"run_id\" is not a lowercase UUID");
  std::string state;
  TRY_ASSIGN(state, r.str(Field::kState, 16));
  const std::optional<RunState> named = wire_state(state);
  if (!named) return fail("field \"state\" is not run, complete, fail or metric");
  e.state = *named;
  TRY_ASSIGN(e.ts, r.str(Field::kTs, 24));
  if (!valid_timestamp(e.ts)) return fail("field \"ts\" is not YYYY-MM-DDTHH:MM:SS.mmmZ");
  TRY_ASSIGN(e.host, r.str(Field::kHost, kMaxHostBytes));
  TRY_ASSIGN(e.pid, r.integer(Field::kPid, 1, kMaxPid));
  TRY_ASSIGN(e.uid, r.integer(Field::kUid, 0, kMaxUid));
  TRY_ASSIGN(e.env, r.opt_str(Field::kEnv, kMaxEnvBytes, false));
  if (e.state == RunState::kRun) {
    const Value* wp = nullptr;
    TRY_ASSIGN(wp, r.field(Field::kWrapperPid, false));
    if (wp) TRY_ASSIGN(e.wrapper_pid, r.integer(Field::kWrapperPid, 1, kMaxPid));
  }
  if (is_terminal(e.state)) {
    int64_t code = 0;
    TRY_ASSIGN(code, r.integer(Field::kExitCode, 0, 255));
    e.exit_code = static_cast<int>(code);
    TRY_ASSIGN(e.signal, r.opt_str(Field::kSignal, 16, true));
    if (e.signal && (e.signal->size() < 4 || e.signal->compare(0, 3, "SIG") != 0))
      return fail("field \"signal\" is not a signal name");
    TRY_ASSIGN(e.oom, r.boolean(Field::kOom));
    TRY_ASSIGN(e.timeout, r.boolean(Field::kTimeout));
    TRY_ASSIGN(e.duration_ms, r.integer(Field::kDurationMs, 0, kMaxDurationMs));
    TRY_ASSIGN(e.output_tail, r.str(Field::kOutputTail, kMaxOutputTailBytes, true, /*allow_nul=*/true));
    TRY_ASSIGN(e.error, r.opt_str(Field::kError, kMaxErrorBytes, true));
    const Value* peak = nullptr;
    TRY_ASSIGN(peak, r.field(Field::kPeakMemoryBytes, true));
    if (peak->kind != Value::Kind::kNull) {
      int64_t p = 0;
      TRY_ASSIGN(p, r.integer(Field::kPeakMemoryBytes, 0, kMaxDurationMs));
      e.peak_memory_bytes = p;
    }
  }
  if (is_terminal(e.state) || e.state == RunState::kMetric) {
    const Value* m = nullptr;
    TRY_ASSIGN(m, r.field(Field::kMetrics, true));
    TRY_ASSIGN(e.metrics, r.metrics(*m));
    if (e.state == RunState::kMetric && e.metrics.empty()) return fail("metric event without metrics");
  }
  return e;
}

}  // namespace cronitor
