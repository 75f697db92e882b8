# Writes the evaluation data of `longmem eval-ppl` / `eval-icl` as plain files, from Debian's R packages
# (lazy-load databases, read without attaching the packages): usage `Rscript extract_eval_data.R OUT_DIR`.
#   austen-<novel>.txt  one novel per file, its lines as janeaustenr ships them
#   icl-sentiment.tsv   word<TAB>positive|negative  (tidytext `sentiments`, the Bing lexicon)
#   icl-pos.tsv         word<TAB>noun|verb|adjective|adverb  (tidytext `parts_of_speech`, Moby; words with one
#                       part of speech only, kept if used at least 3 times in the novels, so they are common)
# Each file is written to a .part name and renamed, so an interrupted run leaves no half file behind.
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[[1]] else "data/eval"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
put <- function(lines, name) {
  tmp <- file.path(out, paste0(name, ".part"))
  writeLines(lines, tmp, useBytes = TRUE)
  invisible(file.rename(tmp, file.path(out, name)))
}

austen <- new.env()
invisible(lazyLoad(file.path(system.file(package = "janeaustenr"), "data", "Rdata"), envir = austen))
for (novel in ls(austen)) put(get(novel, austen), paste0("austen-", novel, ".txt"))

tidy <- new.env()
invisible(lazyLoad(file.path(system.file(package = "tidytext"), "data", "Rdata"), envir = tidy))
s <- as.data.frame(get("sentiments", tidy))
s <- s[grepl("^[a-z]+$", s$word), ]
s <- s[!duplicated(s$word) & !(s$word %in% s$word[duplicated(s$word)]), ]
put(paste(s$word, s$sentiment, sep = "\t"), "icl-sentiment.tsv")

p <- as.data.frame(get("parts_of_speech", tidy))
map <- c("Noun" = "noun", "Verb (transitive)" = "verb", "Verb (intransitive)" = "verb",
         "Adjective" = "adjective", "Adverb" = "adverb")
p <- p[p$pos %in% names(map) & grepl("^[a-z]+$", p$word), ]
p$label <- map[p$pos]
p <- unique(p[, c("word", "label")])
once <- names(which(table(p$word) == 1))
words <- unlist(strsplit(tolower(unlist(mget(ls(austen), envir = austen))), "[^a-z]+"))
common <- names(which(table(words) >= 3))
p <- p[p$word %in% once & p$word %in% common, ]
put(paste(p$word, p$label, sep = "\t"), "icl-pos.tsv")
