// Private factories for the two BPE flavours and the byte <-> unicode alphabet byte-level BPE uses.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace lm {

Result<std::unique_ptr<Tokenizer>> CreateByteLevelBpe(VocabData data);
Result<std::unique_ptr<Tokenizer>> CreateSentencePieceBpe(VocabData data);

// GPT-2's reversible map from each byte to a printable code point, as UTF-8 (e.g. ' ' -> "Ġ").
const std::array<std::string, 256>& ByteToUnicode();

// Appends the UTF-8 encoding of code point cp.
void AppendUtf8(std::string& out, uint32_t cp);

}  // namespace lm
