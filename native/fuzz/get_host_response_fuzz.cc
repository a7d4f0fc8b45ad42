// wire::decode of GetHostResponse (properties: messages_fuzz.h).
#include "fuzz/messages_fuzz.h"

LARS_MESSAGE_FUZZ_TARGET(lars::wire::GetHostResponse)
