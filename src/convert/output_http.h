// The HTTP options of a conversion's output transfers (TransmuxOptions and
// ComposeOptions share the fields): cancellable, a total deadline per
// request, and for client-chosen targets an address check with opaque
// connection errors (issue 21 items 4 and 5).
#pragma once

#include "s3/http_client.h"

namespace roomrec {

template <class Options>
s3::HttpOptions output_http_options(const Options& o) {
  s3::HttpOptions h;
  h.cancel = o.cancel;
  h.total_timeout_ms = o.output_request_timeout_ms;
  if (o.output_address_allowed) {
    h.address_allowed = o.output_address_allowed;
    h.opaque_connect_errors = true;
  }
  return h;
}

}  // namespace roomrec
