// N-API adapters of the DNS and Report services' native network sides (native/dns,
// native/report). JavaScript crosses in only for control: a whole route table, a list of
// changed modules, a stats read; report rows come out in batches the writers take.
#pragma once

#include <napi.h>

namespace lars::binding {

Napi::Object InitServers(Napi::Env env);

}  // namespace lars::binding
