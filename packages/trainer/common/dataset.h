// Token datasets: the .qld binary file written by prep/ (DATA_FORMAT.md) or pre-tokenized JSONL
// ({"input_ids": [...], "labels": [...]} a line). Labels are UNSHIFTED here (Hugging Face convention).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

struct Sample {
    std::vector<int32_t> tokens;
    std::vector<int32_t> labels;   // -100 = not trained; labels[t] is the token at t (unshifted)
    int prompt_len = 0;            // generation starts from tokens[0:prompt_len]
    std::string prompt_text;       // for people (empty for JSONL)
    std::string label_text;        // true answer text (empty for JSONL)
};

struct Dataset {
    std::vector<Sample> samples;
    std::vector<std::string> decode;   // raw bytes of each token id; empty = no decode table
    std::string path;
    std::string decode_ids(const std::vector<int32_t>& ids) const;
};

// Reads .qld (magic QLD1) or JSONL (anything else). Errors name the file and the sample / line.
std::string dataset_read(const std::string& path, Dataset* ds);
// Every token and label id must be < vocab (labels may be -100).
std::string dataset_check_vocab(const Dataset& ds, int vocab);
// Writes a .qld file (used by tests and demos of the reader).
std::string dataset_write_qld(const std::string& path, const Dataset& ds);
