// Recursive-descent JSON parser and writer (RFC 8259; \u escapes incl. surrogate pairs -> UTF-8).
#include "json.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

const Json* Json::find(const std::string& key) const {
    if (type != OBJ) return nullptr;
    for (auto& kv : obj) if (kv.first == key) return &kv.second;
    return nullptr;
}

Json& Json::set(const std::string& key, Json v) {
    type = OBJ;
    for (auto& kv : obj) if (kv.first == key) { kv.second = std::move(v); return kv.second; }
    obj.emplace_back(key, std::move(v));
    return obj.back().second;
}

namespace {
struct Parser {
    const std::string& s;
    size_t i = 0;
    std::string err;
    explicit Parser(const std::string& t) : s(t) {}

    void ws() { while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++; }
    bool fail(const std::string& m) { if (err.empty()) err = m + " at byte " + std::to_string(i); return false; }

    static void put_utf8(std::string& o, uint32_t c) {
        if (c < 0x80) o += (char)c;
        else if (c < 0x800) { o += (char)(0xC0 | (c >> 6)); o += (char)(0x80 | (c & 63)); }
        else if (c < 0x10000) { o += (char)(0xE0 | (c >> 12)); o += (char)(0x80 | ((c >> 6) & 63)); o += (char)(0x80 | (c & 63)); }
        else { o += (char)(0xF0 | (c >> 18)); o += (char)(0x80 | ((c >> 12) & 63)); o += (char)(0x80 | ((c >> 6) & 63)); o += (char)(0x80 | (c & 63)); }
    }
    bool hex4(uint32_t* v) {
        if (i + 4 > s.size()) return fail("truncated \\u escape");
        *v = 0;
        for (int k = 0; k < 4; k++) {
            char c = s[i++]; *v <<= 4;
            if (c >= '0' && c <= '9') *v |= c - '0';
            else if (c >= 'a' && c <= 'f') *v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') *v |= c - 'A' + 10;
            else return fail("bad \\u escape");
        }
        return true;
    }
    bool string(std::string* o) {
        i++;  // opening quote
        while (i < s.size()) {
            char c = s[i++];
            if (c == '"') return true;
            if (c != '\\') { *o += c; continue; }
            if (i >= s.size()) break;
            char e = s[i++];
            switch (e) {
                case '"': *o += '"'; break;   case '\\': *o += '\\'; break; case '/': *o += '/'; break;
                case 'b': *o += '\b'; break;  case 'f': *o += '\f'; break;  case 'n': *o += '\n'; break;
                case 'r': *o += '\r'; break;  case 't': *o += '\t'; break;
                case 'u': {
                    uint32_t c1; if (!hex4(&c1)) return false;
                    if (c1 >= 0xD800 && c1 < 0xDC00 && i + 6 <= s.size() && s[i] == '\\' && s[i + 1] == 'u') {
                        i += 2; uint32_t c2; if (!hex4(&c2)) return false;
                        c1 = 0x10000 + ((c1 - 0xD800) << 10) + (c2 - 0xDC00);
                    }
                    put_utf8(*o, c1); break;
                }
                default: return fail("bad escape");
            }
        }
        return fail("unterminated string");
    }
    bool value(Json* v, int depth) {
        if (depth > 200) return fail("nesting too deep");
        ws();
        if (i >= s.size()) return fail("unexpected end");
        char c = s[i];
        if (c == '{') {
            *v = Json::object(); i++; ws();
            if (i < s.size() && s[i] == '}') { i++; return true; }
            for (;;) {
                ws();
                if (i >= s.size() || s[i] != '"') return fail("expected key");
                std::string k; if (!string(&k)) return false;
                ws(); if (i >= s.size() || s[i] != ':') return fail("expected ':'");
                i++;
                Json x; if (!value(&x, depth + 1)) return false;
                v->obj.emplace_back(std::move(k), std::move(x));
                ws();
                if (i < s.size() && s[i] == ',') { i++; continue; }
                if (i < s.size() && s[i] == '}') { i++; return true; }
                return fail("expected ',' or '}'");
            }
        }
        if (c == '[') {
            *v = Json::array(); i++; ws();
            if (i < s.size() && s[i] == ']') { i++; return true; }
            for (;;) {
                Json x; if (!value(&x, depth + 1)) return false;
                v->arr.push_back(std::move(x));
                ws();
                if (i < s.size() && s[i] == ',') { i++; continue; }
                if (i < s.size() && s[i] == ']') { i++; return true; }
                return fail("expected ',' or ']'");
            }
        }
        if (c == '"') { *v = Json(std::string()); return string(&v->str); }
        if (s.compare(i, 4, "true") == 0) { *v = Json(true); i += 4; return true; }
        if (s.compare(i, 5, "false") == 0) { *v = Json(false); i += 5; return true; }
        if (s.compare(i, 4, "null") == 0) { *v = Json(); i += 4; return true; }
        if (c == '-' || (c >= '0' && c <= '9')) {
            size_t st = i; bool integral = true;
            if (s[i] == '-') i++;
            while (i < s.size()) {
                char d = s[i];
                if (d >= '0' && d <= '9') i++;
                else if (d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-') { integral = false; i++; }
                else break;
            }
            std::string lit = s.substr(st, i - st);
            char* end = nullptr;
            double d = std::strtod(lit.c_str(), &end);
            if (end == lit.c_str() || *end) return fail("bad number");
            *v = Json(d);
            if (integral) { v->inum = std::strtoll(lit.c_str(), nullptr, 10); v->is_int = true; }
            return true;
        }
        return fail("unexpected character");
    }
};

void dump_rec(const Json& v, int indent, int level, std::string& o) {
    auto nl = [&](int lv) { if (indent >= 0) { o += '\n'; o.append((size_t)(lv * indent), ' '); } };
    switch (v.type) {
        case Json::NUL: o += "null"; break;
        case Json::BOOL: o += v.b ? "true" : "false"; break;
        case Json::NUM: {
            if (v.is_int) { o += std::to_string(v.inum); break; }
            if (!std::isfinite(v.num)) { o += "null"; break; }   // JSON has no NaN/Inf
            char buf[32]; std::snprintf(buf, sizeof buf, "%.9g", v.num); o += buf; break;
        }
        case Json::STR: o += '"'; o += json_escape(v.str); o += '"'; break;
        case Json::ARR: {
            o += '[';
            for (size_t k = 0; k < v.arr.size(); k++) { if (k) o += indent >= 0 ? "," : ", "; nl(level + 1); dump_rec(v.arr[k], indent, level + 1, o); }
            if (!v.arr.empty()) nl(level);
            o += ']'; break;
        }
        case Json::OBJ: {
            o += '{';
            for (size_t k = 0; k < v.obj.size(); k++) {
                if (k) o += indent >= 0 ? "," : ", ";
                nl(level + 1);
                o += '"'; o += json_escape(v.obj[k].first); o += "\": ";
                dump_rec(v.obj[k].second, indent, level + 1, o);
            }
            if (!v.obj.empty()) nl(level);
            o += '}'; break;
        }
    }
}
}  // namespace

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no surrogates), 0 if invalid.
static size_t utf8_len(const std::string& s, size_t i) {
    unsigned char c = (unsigned char)s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; k++) {
        unsigned char d = (unsigned char)s[i + k];
        if ((d >> 6) != 0x2) return 0;
        cp = (cp << 6) | (d & 0x3F);
    }
    static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

// JSON text must be valid UTF-8: generated token bytes can stop inside a character, so invalid
// bytes become U+FFFD rather than a line that JSON parsers refuse.
std::string json_escape(const std::string& s) {
    std::string o;
    for (size_t i = 0; i < s.size();) {
        unsigned char c = (unsigned char)s[i];
        size_t n = utf8_len(s, i);
        if (n == 0) { o += "\xEF\xBF\xBD"; i++; continue; }
        if (n > 1) { o.append(s, i, n); i += n; continue; }
        switch (c) {
            case '"': o += "\\\""; break; case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break; case '\r': o += "\\r"; break; case '\t': o += "\\t"; break;
            default:
                if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); o += b; }
                else o += (char)c;
        }
        i++;
    }
    return o;
}

std::string Json::dump(int indent) const { std::string o; dump_rec(*this, indent, 0, o); return o; }

std::string json_parse(const std::string& text, Json* out) {
    Parser p(text);
    if (!p.value(out, 0)) return p.err;
    p.ws();
    if (p.i != text.size()) return "trailing characters at byte " + std::to_string(p.i);
    return "";
}

std::string json_read_file(const std::string& path, Json* out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return "cannot open " + path;
    std::stringstream ss; ss << f.rdbuf();
    std::string e = json_parse(ss.str(), out);
    return e.empty() ? "" : path + ": invalid JSON: " + e;
}
