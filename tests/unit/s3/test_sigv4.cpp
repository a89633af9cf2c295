#include <doctest/doctest.h>

#include <string>

#include "s3/s3_uri.h"
#include "s3/sigv4.h"

using namespace roomrec;
using namespace roomrec::s3;

namespace {

// The examples of the AWS S3 documentation ("Authenticating Requests: Using Query
// Parameters" and "Signature Calculations for the Authorization Header").
constexpr int64_t kMay24 = 1369353600;  // 2013-05-24T00:00:00Z
constexpr const char* kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Credentials aws_example() {
  Credentials c;
  c.access_key = "AKIAIOSFODNN7EXAMPLE";
  c.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  return c;
}

S3Request example_request(std::string method, std::string key) {
  S3Request r;
  r.method = std::move(method);
  r.scheme = "https";
  r.host = "examplebucket.s3.amazonaws.com";
  r.key = std::move(key);
  return r;
}

std::string header(const S3Request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<missing>";
}

int count_header(const S3Request& r, std::string_view name) {
  int n = 0;
  for (const auto& [k, v] : r.headers) n += k == name;
  return n;
}

std::string signature_of(const std::string& s) {
  auto p = s.find("Signature=");
  return p == std::string::npos ? "" : s.substr(p + 10);
}

std::string query_value(const std::string& url, const std::string& name) {
  auto p = url.find(name + "=");
  if (p == std::string::npos) return "<missing>";
  p += name.size() + 1;
  return url.substr(p, url.find('&', p) - p);
}

}  // namespace

TEST_CASE("sha256_hex") {
  CHECK(sha256_hex("", 0) == kEmptySha);
  CHECK(sha256_hex("abc", 3) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string body = "Welcome to Amazon S3.";
  CHECK(sha256_hex(body.data(), body.size()) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

TEST_CASE("AWS example: presigned GET URL (query parameters)") {
  auto url = presign(example_request("GET", "test.txt"), aws_example(), kMay24, 86400);
  REQUIRE(url.is_ok());
  CHECK(*url ==
        "https://examplebucket.s3.amazonaws.com/test.txt"
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");

  // The same through an S3 URI (virtual host, secret with '/' percent-encoded).
  auto uri = S3Uri::parse(
      "https://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY@s3.amazonaws.com/examplebucket");
  REQUIRE(uri.is_ok());
  auto url2 = presign_url(*uri, "GET", "test.txt", kMay24, 86400);
  REQUIRE(url2.is_ok());
  CHECK(*url2 == *url);
}

TEST_CASE("AWS example: GET Object with Range (Authorization header)") {
  auto r = example_request("GET", "test.txt");
  r.headers.emplace_back("Range", "bytes=0-9");
  sign_headers(r, aws_example(), kEmptySha, kMay24);
  CHECK(header(r, "Authorization") ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  CHECK(header(r, "x-amz-date") == "20130524T000000Z");
  CHECK(header(r, "x-amz-content-sha256") == kEmptySha);
  CHECK(header(r, "Range") == "bytes=0-9");
}

TEST_CASE("AWS example: PUT Object (encoded '$', Date and storage class headers)") {
  auto r = example_request("PUT", "test$file.text");
  r.headers.emplace_back("Date", "Fri, 24 May 2013 00:00:00 GMT");
  r.headers.emplace_back("x-amz-storage-class", "REDUCED_REDUNDANCY");
  CHECK(r.canonical_path() == "/test%24file.text");
  std::string body = "Welcome to Amazon S3.";
  sign_headers(r, aws_example(), sha256_hex(body.data(), body.size()), kMay24);
  auto auth = header(r, "Authorization");
  CHECK(auth.find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,") !=
        std::string::npos);
  CHECK(signature_of(auth) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST_CASE("AWS examples: GET bucket lifecycle and list objects (query signing)") {
  auto r = example_request("GET", "");
  r.query.emplace_back("lifecycle", "");
  CHECK(r.url() == "https://examplebucket.s3.amazonaws.com/?lifecycle=");
  sign_headers(r, aws_example(), kEmptySha, kMay24);
  CHECK(signature_of(header(r, "Authorization")) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");

  auto l = example_request("GET", "");
  l.query = {{"prefix", "J"}, {"max-keys", "2"}};  // unsorted on purpose
  CHECK(l.url() == "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J");
  sign_headers(l, aws_example(), kEmptySha, kMay24);
  CHECK(signature_of(header(l, "Authorization")) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_CASE("canonical_path: path style, virtual host, empty key") {
  S3Request r;
  r.host = "h";
  CHECK(r.canonical_path() == "/");
  r.bucket = "b";
  CHECK(r.canonical_path() == "/b");
  r.key = "k/x.rec";
  CHECK(r.canonical_path() == "/b/k/x.rec");
  r.bucket = "";
  CHECK(r.canonical_path() == "/k/x.rec");
  CHECK(r.url() == "http://h/k/x.rec");
}

TEST_CASE("keys encode exactly once, no normalisation") {
  struct Case {
    const char* raw;
    const char* encoded;
  };
  for (Case c : {Case{"a b", "a%20b"}, Case{"caf\xC3\xA9/\xE6\x97\xA5\xE6\x9C\xAC", "caf%C3%A9/%E6%97%A5%E6%9C%AC"},
                 Case{"\xF0\x9F\x98\x80", "%F0%9F%98%80"}, Case{"a+b=c&d", "a%2Bb%3Dc%26d"},
                 Case{"100%", "100%25"}, Case{"already%20encoded", "already%2520encoded"}, Case{"~tilde-_.", "~tilde-_."},
                 Case{"a//b", "a//b"}, Case{"./a/../b/.", "./a/../b/."}, Case{"..", ".."}, Case{"/lead", "/lead"},
                 Case{"trail/", "trail/"}, Case{"?#[]@!$'()*,;:", "%3F%23%5B%5D%40%21%24%27%28%29%2A%2C%3B%3A"},
                 Case{"tab\there\nnl", "tab%09here%0Anl"}}) {
    S3Request r;
    r.host = "h";
    r.bucket = "bkt";
    r.key = c.raw;
    CHECK_MESSAGE(r.canonical_path() == std::string("/bkt/") + c.encoded, c.raw);
    r.bucket = "";
    CHECK_MESSAGE(r.canonical_path() == std::string("/") + c.encoded, c.raw);
  }
}

TEST_CASE("query names and values are encoded once and sorted by encoded name then value") {
  S3Request r;
  r.host = "h:9000";
  r.bucket = "b";
  r.query = {{"prefix", "a b/c+d"}, {"list-type", "2"}, {"delimiter", "/"}, {"continuation-token", "x=y%z"},
             {"b", "2"}, {"b", "1"}, {"uploads", ""}};
  CHECK(r.url() ==
        "http://h:9000/b?b=1&b=2&continuation-token=x%3Dy%25z&delimiter=%2F&list-type=2&prefix=a%20b%2Fc%2Bd&uploads=");
  // Sorted after encoding: "%C3%A9" comes before "z" although the raw 0xC3 byte does not.
  r.query = {{"z", "1"}, {"\xC3\xA9", "2"}, {"y", "\xC3\xA9"}, {"y", "z"}};
  CHECK(r.url() == "http://h:9000/b?%C3%A9=2&y=%C3%A9&y=z&z=1");
}

TEST_CASE("presign: expiry bounds and bad inputs") {
  auto r = example_request("GET", "test.txt");
  auto c = aws_example();
  CHECK_FALSE(presign(r, c, kMay24, 0).is_ok());
  CHECK_FALSE(presign(r, c, kMay24, 604801).is_ok());
  CHECK(presign(r, c, kMay24, 604801).status().code() == ErrorCode::invalid_argument);
  CHECK(presign(r, c, kMay24, 604801).status().message().find("604800") != std::string::npos);
  CHECK(presign(r, c, kMay24, 1).is_ok());
  CHECK(presign(r, c, kMay24, 604800).is_ok());
  CHECK(query_value(*presign(r, c, kMay24, 604800), "X-Amz-Expires") == "604800");

  auto no_key = c;
  no_key.access_key.clear();
  CHECK_FALSE(presign(r, no_key, kMay24, 60).is_ok());
  auto no_secret = c;
  no_secret.secret_key.clear();
  CHECK_FALSE(presign(r, no_secret, kMay24, 60).is_ok());
  auto no_host = r;
  no_host.host.clear();
  CHECK_FALSE(presign(no_host, c, kMay24, 60).is_ok());
  auto clash = r;
  clash.query.emplace_back("X-Amz-Signature", "x");
  CHECK_FALSE(presign(clash, c, kMay24, 60).is_ok());

  auto uri = S3Uri::parse("https://s3.example.com/b/k?X-Amz-Signature=abc");
  REQUIRE(uri.is_ok());
  CHECK_FALSE(presign_url(*uri, "PUT", "k", kMay24, 60).is_ok());
}

TEST_CASE("presign: dates, session token, bound headers, region") {
  auto r = example_request("PUT", "a b.rec");
  auto c = aws_example();
  CHECK(query_value(*presign(r, c, 0, 60), "X-Amz-Date") == "19700101T000000Z");
  CHECK(query_value(*presign(r, c, 951782400, 60), "X-Amz-Date") == "20000229T000000Z");
  CHECK(query_value(*presign(r, c, 4102444799, 60), "X-Amz-Date") == "20991231T235959Z");
  CHECK(query_value(*presign(r, c, 1709251199, 60), "X-Amz-Date") == "20240229T235959Z");

  auto plain = *presign(r, c, kMay24, 60);
  CHECK(plain.rfind("https://examplebucket.s3.amazonaws.com/a%20b.rec?", 0) == 0);

  c.session_token = "tok/en+=";
  auto with_token = *presign(r, c, kMay24, 60);
  CHECK(query_value(with_token, "X-Amz-Security-Token") == "tok%2Fen%2B%3D");
  CHECK(signature_of(with_token) != signature_of(plain));

  c.session_token.clear();
  r.headers.emplace_back("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==");
  auto bound = *presign(r, c, kMay24, 60);
  CHECK(query_value(bound, "X-Amz-SignedHeaders") == "content-md5%3Bhost");
  CHECK(signature_of(bound) != signature_of(plain));

  c.region = "eu-west-3";
  auto eu = *presign(r, c, kMay24, 60);
  CHECK(query_value(eu, "X-Amz-Credential") == "AKIAIOSFODNN7EXAMPLE%2F20130524%2Feu-west-3%2Fs3%2Faws4_request");
}

TEST_CASE("sign_headers: re-signing replaces, token added, values trimmed, empty payload unsigned") {
  auto r = example_request("GET", "test.txt");
  r.headers.emplace_back("Range", "bytes=0-9");
  auto c = aws_example();
  sign_headers(r, c, kEmptySha, kMay24 - 3600);
  sign_headers(r, c, kEmptySha, kMay24);
  CHECK(count_header(r, "Authorization") == 1);
  CHECK(count_header(r, "x-amz-date") == 1);
  CHECK(count_header(r, "x-amz-content-sha256") == 1);
  CHECK(signature_of(header(r, "Authorization")) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

  auto spaced = example_request("GET", "test.txt");
  spaced.headers.emplace_back("RANGE", "  bytes=0-9 \t ");
  sign_headers(spaced, c, kEmptySha, kMay24);
  CHECK(signature_of(header(spaced, "Authorization")) ==
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

  auto t = example_request("GET", "test.txt");
  c.session_token = "session";
  sign_headers(t, c, "", kMay24);
  CHECK(header(t, "x-amz-security-token") == "session");
  CHECK(header(t, "x-amz-content-sha256") == kUnsignedPayload);
  CHECK(header(t, "Authorization").find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") !=
        std::string::npos);
}

TEST_CASE("make_request and presign_url follow the S3 URI") {
  auto ps = S3Uri::parse("http://ak:sk@127.0.0.1:9000/bucket/rec/ords?path_style=true&region=eu-west-1");
  REQUIRE(ps.is_ok());
  auto r = make_request(*ps, "PUT", ps->key("a b.rec"));
  CHECK(r.method == "PUT");
  CHECK(r.scheme == "http");
  CHECK(r.host == "127.0.0.1:9000");
  CHECK(r.bucket == "bucket");
  CHECK(r.key == "rec/ords/a b.rec");
  CHECK(r.url() == "http://127.0.0.1:9000/bucket/rec/ords/a%20b.rec");
  auto c = credentials_of(*ps);
  CHECK(c.access_key == "ak");
  CHECK(c.secret_key == "sk");
  CHECK(c.region == "eu-west-1");
  CHECK(c.service == "s3");
  auto url = presign_url(*ps, "PUT", "a b.rec", kMay24, 3600);
  REQUIRE(url.is_ok());
  CHECK(url->rfind("http://127.0.0.1:9000/bucket/rec/ords/a%20b.rec?X-Amz-Algorithm=AWS4-HMAC-SHA256&", 0) == 0);
  CHECK(*url == *presign(r, c, kMay24, 3600));

  auto vh = S3Uri::parse("https://ak:sk@s3.example.com:443/bucket");
  REQUIRE(vh.is_ok());
  auto v = make_request(*vh, "GET", "");
  CHECK(v.host == "bucket.s3.example.com");
  CHECK(v.bucket.empty());
  CHECK(v.url() == "https://bucket.s3.example.com/");
}
