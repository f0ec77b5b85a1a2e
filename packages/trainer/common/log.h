// Progress protocol: one JSON object per line on stdout ({"event": "start"|"step"|"prediction"|
// "checkpoint"|"eval"|"done"|"error", ...}, snake_case fields); human-readable logs on stderr.
#pragma once
#include <cstdarg>
#include <cstdio>
#include "json.h"

inline void log_event(const char* event, Json fields) {
    Json j = Json::object();
    j.set("event", event);
    for (auto& kv : fields.obj) j.set(kv.first, kv.second);
    std::string s = j.dump();
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

inline void log_info(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::fputs("[qwen3-lora] ", stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
}
