/* sanitizer.h: TX_TEST_SANITIZED is 1 when the test is built with AddressSanitizer (gcc's
 * __SANITIZE_ADDRESS__ or clang's __has_feature), else 0, so that tests can scale down cases that are
 * slow only under the sanitizer. Header-only test helper, not part of the library. */
#ifndef TX_TEST_SANITIZER_H
#define TX_TEST_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define TX_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TX_TEST_SANITIZED 1
#endif
#endif
#ifndef TX_TEST_SANITIZED
#define TX_TEST_SANITIZED 0
#endif

#endif
