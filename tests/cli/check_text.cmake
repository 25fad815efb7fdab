# electra tokenize, vocab and prepare from the command line, with their error paths.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# tokenize: ids and pieces per stdin line (BERT uncased: hello , world ! / naïve -> naive).
file(WRITE ${WORK_DIR}/in.txt "Hello, World!\nnaïve café\n")
execute_process(COMMAND ${ELECTRA} tokenize --vocab ${VOCAB} INPUT_FILE ${WORK_DIR}/in.txt
  OUTPUT_VARIABLE ids RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT ids STREQUAL "7592 1010 2088 999\n15743 7668\n")
  message(FATAL_ERROR "tokenize --ids gave (${rc}): '${ids}'")
endif()
execute_process(COMMAND ${ELECTRA} tokenize --vocab ${VOCAB} --tokens INPUT_FILE ${WORK_DIR}/in.txt
  OUTPUT_VARIABLE pieces)
if(NOT pieces STREQUAL "hello , world !\nnaive cafe\n")
  message(FATAL_ERROR "tokenize --tokens gave '${pieces}'")
endif()

# vocab: a small WordPiece vocabulary whose first tokens are the specials.
run_ok(out ${ELECTRA} vocab --input ${CORPUS} --size 300 --min-frequency 1 --out ${WORK_DIR}/vocab.txt)
file(STRINGS ${WORK_DIR}/vocab.txt tokens)
list(LENGTH tokens n)
list(SUBLIST tokens 0 5 head)
if(NOT n EQUAL 300 OR NOT head STREQUAL "[PAD];[UNK];[CLS];[SEP];[MASK]")
  message(FATAL_ERROR "vocab: ${n} tokens, starting ${head}")
endif()

# prepare: shards from the trained vocabulary; a missing input is named.
run_ok(out ${ELECTRA} prepare --vocab ${WORK_DIR}/vocab.txt --input ${CORPUS} --out ${WORK_DIR}/shards --max-seq-len 32)
if(NOT EXISTS ${WORK_DIR}/shards/shard-00000.bin)
  message(FATAL_ERROR "prepare wrote no shard")
endif()
execute_process(COMMAND ${ELECTRA} prepare --vocab ${VOCAB} --input ${WORK_DIR}/no-such-file.txt --out ${WORK_DIR}/x
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "no-such-file.txt")
  message(FATAL_ERROR "a missing input should be named; got rc ${rc}: ${err}")
endif()
# pretrain refuses shards made with another vocabulary, naming the shard.
execute_process(COMMAND ${ELECTRA} pretrain --model tiny --data ${WORK_DIR}/shards --out ${WORK_DIR}/run --steps 1
  --max-seq-len 32 RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "shard-00000.bin")
  message(FATAL_ERROR "shards of another vocabulary should be refused naming the shard; got rc ${rc}: ${err}")
endif()
