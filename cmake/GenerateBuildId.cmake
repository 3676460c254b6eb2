# Writes NormLIRBuildId.inc: a hash of the compiler's sources, part of the
# version string and so of every disk-cache key (a rebuilt compiler with
# other sources does not reuse objects of the old one).
#   cmake -DLIST=<file listing the sources> -DOUTPUT=<.inc> -P GenerateBuildId.cmake
file(STRINGS "${LIST}" sources)
set(all "")
foreach(f IN LISTS sources)
  if(EXISTS "${f}")
    file(SHA256 "${f}" h)
    string(APPEND all "${f}:${h}\n")
  endif()
endforeach()
string(SHA256 id "${all}")
string(SUBSTRING "${id}" 0 16 id)
set(content "#define NORMLIR_BUILD_ID \"${id}\"\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
