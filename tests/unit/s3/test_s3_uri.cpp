#include <doctest/doctest.h>

#include <string>

#include "s3/s3_uri.h"

using namespace roomrec;
using namespace roomrec::s3;

namespace {

S3Uri ok(std::string_view s) {
  auto r = S3Uri::parse(s);
  INFO(s);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return *r;
}

// The error message of a URI that must be refused.
std::string error_of(std::string_view s) {
  auto r = S3Uri::parse(s);
  INFO(s);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::invalid_argument);
  return r.status().message();
}

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("the documented form parses") {
  auto u = ok("http://AK:SK@localhost:9000/bucket/optional/sub/path?path_style=true&region=us-east-1");
  CHECK(u.scheme == "http");
  CHECK(u.host == "localhost");
  CHECK(u.port == 9000);
  CHECK(u.access_key == "AK");
  CHECK(u.secret_key == "SK");
  CHECK(u.bucket == "bucket");
  CHECK(u.prefix == "optional/sub/path");
  CHECK(u.path_style);
  CHECK(u.region == "us-east-1");
  CHECK_FALSE(u.presigned);
  CHECK(u.presigned_url.empty());
  CHECK(u.authority() == "localhost:9000");
  CHECK(u.endpoint() == "http://localhost:9000");
}

TEST_CASE("schemes and ports") {
  auto a = ok("https://ak:sk@s3.example.com/b");
  CHECK(a.scheme == "https");
  CHECK(a.port == 0);
  CHECK(a.authority() == "s3.example.com");
  CHECK(a.endpoint() == "https://b.s3.example.com");

  auto b = ok("HTTPS://ak:sk@S3.Example.COM:8443/b");
  CHECK(b.scheme == "https");
  CHECK(b.host == "s3.example.com");
  CHECK(b.port == 8443);
  CHECK(b.authority() == "s3.example.com:8443");
  CHECK(b.endpoint() == "https://b.s3.example.com:8443");

  // Default ports are left out of the Host header.
  CHECK(ok("http://ak:sk@h.example:80/b").authority() == "h.example");
  CHECK(ok("https://ak:sk@h.example:443/b").authority() == "h.example");
  CHECK(ok("http://ak:sk@h.example:443/b").authority() == "h.example:443");
  CHECK(ok("https://ak:sk@h.example:80/b").authority() == "h.example:80");
  CHECK(ok("http://ak:sk@h.example:65535/b").port == 65535);
  CHECK(ok("http://ak:sk@h.example:1/b").port == 1);
}

TEST_CASE("prefix depth 0..3, trailing slashes, key()") {
  auto p0 = ok("http://ak:sk@h/b?path_style=1");
  CHECK(p0.bucket == "b");
  CHECK(p0.prefix.empty());
  CHECK(p0.key("x/y.rec") == "x/y.rec");
  CHECK(p0.key("") == "");
  CHECK(ok("http://ak:sk@h/b/?path_style=1").prefix.empty());

  auto p1 = ok("http://ak:sk@h/b/one?path_style=1");
  CHECK(p1.prefix == "one");
  CHECK(p1.key("x.rec") == "one/x.rec");
  CHECK(p1.key("/x.rec") == "one/x.rec");
  CHECK(p1.key("") == "one");

  auto p2 = ok("http://ak:sk@h/b/one/two/?path_style=1");
  CHECK(p2.prefix == "one/two");
  CHECK(p2.key("app/room") == "one/two/app/room");

  auto p3 = ok("http://ak:sk@h/b/one/two/three");
  CHECK(p3.prefix == "one/two/three");
  CHECK(p3.key("k") == "one/two/three/k");

  // Percent-escapes in the path are decoded.
  CHECK(ok("http://ak:sk@h/b/my%20records/x%2By").prefix == "my records/x+y");
  CHECK(ok("http://ak:sk@h/b/a+b").prefix == "a+b");
}

TEST_CASE("encoded credentials") {
  auto u = ok("https://AKIA%2Fx:wJal%2FK7%2BMD%40EN%3AG%2FbPx%25@h/b");
  CHECK(u.access_key == "AKIA/x");
  CHECK(u.secret_key == "wJal/K7+MD@EN:G/bPx%");
  // A raw '+' stays a '+', a raw ':' after the first belongs to the secret.
  auto v = ok("https://ak:a+b:c@h/b");
  CHECK(v.access_key == "ak");
  CHECK(v.secret_key == "a+b:c");
  // The last '@' of the authority ends the credentials.
  CHECK(ok("https://ak:se@cret@h/b").secret_key == "se@cret");
}

TEST_CASE("region and path_style options") {
  CHECK(ok("http://ak:sk@h/b").region == "us-east-1");
  CHECK(ok("http://ak:sk@h/b?region=").region == "us-east-1");
  CHECK(ok("http://ak:sk@h/b?region=eu-west-3").region == "eu-west-3");
  CHECK(ok("http://ak:sk@h/b?region=garage").region == "garage");

  for (const char* t : {"true", "1", "yes", "TRUE", "Yes"}) {
    auto u = ok(std::string("http://ak:sk@h:9000/b?path_style=") + t);
    CHECK(u.path_style);
    CHECK(u.endpoint() == "http://h:9000");
  }
  CHECK(ok("http://ak:sk@h:9000/b?path_style").path_style);
  for (const char* f : {"false", "0", "no", "False"}) {
    auto u = ok(std::string("http://ak:sk@h:9000/b?path_style=") + f);
    CHECK_FALSE(u.path_style);
    CHECK(u.endpoint() == "http://b.h:9000");
  }
  auto both = ok("http://ak:sk@h/b?region=ap-south-1&path_style=true");
  CHECK(both.region == "ap-south-1");
  CHECK(both.path_style);
  CHECK(ok("http://ak:sk@h/b?&region=x&&").region == "x");
}

TEST_CASE("IPv6 literal hosts") {
  auto u = ok("http://ak:sk@[::1]:9000/b/p?path_style=true");
  CHECK(u.host == "::1");
  CHECK(u.port == 9000);
  CHECK(u.authority() == "[::1]:9000");
  CHECK(u.endpoint() == "http://[::1]:9000");
  auto v = ok("https://ak:sk@[2001:DB8::1]/b?path_style=true");
  CHECK(v.host == "2001:db8::1");
  CHECK(v.authority() == "[2001:db8::1]");
  CHECK(ok("http://ak:sk@[::ffff:127.0.0.1]:80/b?path_style=true").authority() == "[::ffff:127.0.0.1]");
}

TEST_CASE("presigned URLs are detected and kept verbatim") {
  const std::string url =
      "https://examplebucket.s3.amazonaws.com/rec/a%20b.rec?X-Amz-Algorithm=AWS4-HMAC-SHA256"
      "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Feu-west-1%2Fs3%2Faws4_request"
      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
      "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
  auto u = ok(url);
  CHECK(u.presigned);
  CHECK(u.presigned_url == url);
  CHECK(u.scheme == "https");
  CHECK(u.host == "examplebucket.s3.amazonaws.com");
  CHECK(u.port == 0);
  CHECK(u.access_key.empty());
  CHECK(u.secret_key.empty());
  CHECK(u.region == "eu-west-1");  // from the credential scope
  CHECK_FALSE(contains(u.to_string(), "aeeed9bb"));
  CHECK(contains(u.to_string(), "X-Amz-Signature=***"));
  CHECK(contains(u.to_string(), "X-Amz-Expires=86400"));

  auto p = ok("http://127.0.0.1:4568/bucket/k.rec?x-amz-signature=abc&X-Amz-Security-Token=secret-token");
  CHECK(p.presigned);
  CHECK(p.host == "127.0.0.1");
  CHECK(p.port == 4568);
  CHECK(p.region == "us-east-1");
  CHECK_FALSE(contains(p.to_string(), "secret-token"));
  // No bucket is needed (virtual-host presigned URL at the root).
  CHECK(ok("https://b.s3.example.com/k?X-Amz-Signature=1").presigned);
  CHECK(ok("https://b.s3.example.com?X-Amz-Signature=1").presigned);
}

TEST_CASE("to_string redacts the secret") {
  auto u = ok("https://AK%2F1:super%2Fsecret@h:9443/b/p/q?path_style=true&region=eu-west-3");
  auto s = u.to_string();
  CHECK_FALSE(contains(s, "super"));
  CHECK_FALSE(contains(s, "secret"));
  CHECK(s == "https://AK%2F1:***@h:9443/b/p/q?path_style=true&region=eu-west-3");
  // What it prints parses back (with the redacted secret).
  auto back = ok(s);
  CHECK(back.access_key == u.access_key);
  CHECK(back.bucket == u.bucket);
  CHECK(back.prefix == u.prefix);
  CHECK(back.port == u.port);
  CHECK(back.path_style == u.path_style);
  CHECK(back.region == u.region);
}

TEST_CASE("malformed URIs are refused with a message that says what is wrong") {
  struct Case {
    const char* uri;
    const char* says;
  };
  for (Case c : {
           Case{"", "empty"},
           Case{"ak:sk@h/b", "missing scheme"},
           Case{"://ak:sk@h/b", "missing scheme"},
           Case{"s3://ak:sk@h/b", "unsupported scheme 's3'"},
           Case{"ftp://ak:sk@h/b", "only http:// and https://"},
           Case{"http://ak:sk@/b", "missing host"},
           Case{"http://ak:sk@:9000/b", "missing host"},
           Case{"http:///b", "missing host"},
           Case{"http://ak:sk@h:/b", "empty port"},
           Case{"http://ak:sk@h:abc/b", "bad port: not a number"},
           Case{"http://ak:sk@h:0/b", "bad port '0'"},
           Case{"http://ak:sk@h:65536/b", "bad port '65536'"},
           Case{"http://ak:sk@h:-1/b", "bad port"},
           Case{"http://ak:sk@h:99999999999/b", "bad port"},
           Case{"http://ak:sk@::1:9000/b", "brackets"},
           Case{"http://ak:sk@[::1/b?path_style=true", "unterminated IPv6"},
           Case{"http://ak:sk@[]/b?path_style=true", "empty IPv6"},
           Case{"http://ak:sk@[::1]x/b?path_style=true", "after IPv6"},
           Case{"http://ak:sk@[zz::1]/b?path_style=true", "IPv6 literal"},
           Case{"http://ak:sk@h%41/b", "bad character '%' in host"},
           Case{"http://h/b", "missing credentials"},
           Case{"http://ak@h/b", "missing secret key"},
           Case{"http://:sk@h/b", "empty access key"},
           Case{"http://ak:@h/b", "empty secret key"},
           Case{"http://AK:wJal/K7MDENG@h/b", "%2F"},
           Case{"http://ak:s%zz@h/b", "bad percent escape in the secret key"},
           Case{"http://a%4:sk@h/b", "bad percent escape in the access key"},
           Case{"http://ak:sk@h", "missing bucket"},
           Case{"http://ak:sk@h/", "missing bucket"},
           Case{"http://ak:sk@h?path_style=true", "missing bucket"},
           Case{"http://ak:sk@h//p", "empty bucket"},
           Case{"http://ak:sk@h/b%2Fc/p", "bad bucket name"},
           Case{"http://ak:sk@h/b%zz", "bad percent escape in bucket"},
           Case{"http://ak:sk@h/b/p%zz", "bad percent escape in key prefix"},
           Case{"http://ak:sk@h/b/a//c", "empty path segment"},
           Case{"http://ak:sk@h/b/%2Fa", "empty path segment"},
           Case{"http://ak:sk@h/b?foo=1", "unknown query parameter 'foo'"},
           Case{"http://ak:sk@h/b?pathstyle=true", "unknown query parameter 'pathstyle'"},
           Case{"http://ak:sk@h/b?path_style=maybe", "bad value 'maybe' for path_style"},
           Case{"http://ak:sk@h/b?path_style=", "bad value"},
           Case{"http://ak:sk@h/b?region=a&region=b", "duplicate query parameter 'region'"},
           Case{"http://ak:sk@h/b?path_style=1&path_style=0", "duplicate query parameter 'path_style'"},
           Case{"http://ak:sk@h/b?region=eu/west", "bad region"},
           Case{"http://ak:sk@h/b?re%zzgion=x", "bad percent escape in query parameter name"},
           Case{"http://ak:sk@h/b?region=%z1", "bad percent escape in the value of query parameter 'region'"},
           Case{"http://ak:sk@h/b?=x", "without a name"},
           Case{"http://ak:sk@h/b#frag", "fragment"},
           Case{"http://ak:sk@h/b c", "space"},
           Case{" http://ak:sk@h/b", "space"},
           Case{"http://ak:sk@h/b\n", "control character"},
           Case{"http://ak:sk@127.0.0.1:9000/b", "path_style=true"},
           Case{"http://ak:sk@[::1]:9000/b", "virtual-host addressing"},
           Case{"http://ak:sk@h/My_Bucket", "not a valid host name label"},
           Case{"https://h/k?X-Amz-Signature=1&x=%zz", "bad percent escape"},
           Case{"https://h/k%zz?X-Amz-Signature=1", "bad percent escape in the path"},
           Case{"https:///k?X-Amz-Signature=1", "missing host"},
       }) {
    auto message = error_of(c.uri);
    CHECK_MESSAGE(contains(message, c.says), c.uri, " -> ", message);
  }
}

TEST_CASE("error messages never contain the secret") {
  for (const char* u : {"http://ak:TOPSECRET@h/b?foo=1", "http://ak:TOPSECRET@h:bad/b", "http://ak:TOPSECRET%zz@h/b",
                        "http://ak:TOPSECRET@h", "http://ak:TOPSECRET@h/b?region=a&region=b",
                        "http://ak:TOPSECRET/b", "http://ak:TOP:SECRET/b", "http://ak:TOPSECRET"}) {
    auto r = S3Uri::parse(u);
    REQUIRE_FALSE(r.is_ok());
    CHECK_MESSAGE(!contains(r.status().message(), "TOPSECRET"), r.status().message());
  }
}

TEST_CASE("legacy bucket names are accepted with path style only") {
  auto u = ok("http://ak:sk@h/My_Bucket?path_style=true");
  CHECK(u.bucket == "My_Bucket");
  CHECK(ok("http://ak:sk@h/my.bucket-1").endpoint() == "http://my.bucket-1.h");
}
