// Minimal JSON value, parser and writer: enough for config.json, safetensors headers, JSONL of ints,
// adapter_config.json and the stdout event lines. Hand-written because the build is offline with no C++
// package manager. Objects keep insertion order (so written files read like PEFT's).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

struct Json {
    enum Type { NUL, BOOL, NUM, STR, ARR, OBJ } type = NUL;
    bool b = false;
    double num = 0;
    int64_t inum = 0;          // exact value when the literal was an integer
    bool is_int = false;
    std::string str;
    std::vector<Json> arr;
    std::vector<std::pair<std::string, Json>> obj;

    Json() = default;
    Json(std::nullptr_t) {}
    Json(bool v) : type(BOOL), b(v) {}
    Json(int v) : type(NUM), num(v), inum(v), is_int(true) {}
    Json(int64_t v) : type(NUM), num((double)v), inum(v), is_int(true) {}
    Json(uint64_t v) : type(NUM), num((double)v), inum((int64_t)v), is_int(true) {}
    Json(double v) : type(NUM), num(v), inum((int64_t)v) {}
    Json(float v) : Json((double)v) {}
    Json(const char* s) : type(STR), str(s) {}
    Json(std::string s) : type(STR), str(std::move(s)) {}
    static Json array() { Json j; j.type = ARR; return j; }
    static Json object() { Json j; j.type = OBJ; return j; }

    // Object access: find returns nullptr when absent (or when this is not an object).
    const Json* find(const std::string& key) const;
    Json& set(const std::string& key, Json v);   // insert or replace, keeps order
    Json& push(Json v) { type = ARR; arr.push_back(std::move(v)); return arr.back(); }
    bool is_null() const { return type == NUL; }
    bool is_num() const { return type == NUM; }
    bool is_str() const { return type == STR; }

    std::string dump(int indent = -1) const;   // indent < 0: one line
};

// Parses text into *out. Returns "" on success, else a message with the byte offset.
std::string json_parse(const std::string& text, Json* out);
// Reads and parses a file; the error names the file.
std::string json_read_file(const std::string& path, Json* out);
std::string json_escape(const std::string& s);
