package callback

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// Tencent's published WXBizMsgCrypt sample values (Token "QDG6eK", the
// EncodingAESKey and corpid below), as shipped in the official sample code
// and copied into many repositories. Verified here from two copies:
//
//   - URL verification: the PHP sample Sample.php as copied in the GitHub
//     repository ming820214/oa, path api/Sample.php (commit 293da58a); the
//     same values are in the docs of the Rust crate wechat-crypto,
//     https://docs.rs/wechat-crypto/latest/wechat_crypto/.
//   - Message: the C# sample Sample.cs as copied in the GitHub repository
//     JeffreySu/WeiXinMPSDK, path
//     src/Senparc.Weixin.MP/Senparc.Weixin.MP/Tencent/Sample.cs.
//
// Scheme description (PKCS#7 to a multiple of 32 bytes, IV = AESKey[:16]):
// https://developer.work.weixin.qq.com/document/path/91144 (加解密方案说明).
const (
	sampleToken  = "QDG6eK"
	sampleAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	sampleCorpID = "wx5823bf96d3bd56c7"

	sampleVerifySig   = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
	sampleVerifyTS    = "1409659589"
	sampleVerifyNonce = "263014780"
	sampleVerifyEcho  = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="

	sampleMsgSig   = "477715d11cdb4164915debcba66cb864d751f3e6"
	sampleMsgTS    = "1409659813"
	sampleMsgNonce = "1372623149"
	sampleMsgEnc   = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

func sampleCrypto(t *testing.T) *Crypto {
	t.Helper()
	c, err := NewCrypto(sampleToken, sampleAESKey, sampleCorpID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPublishedVectors(t *testing.T) {
	c := sampleCrypto(t)
	tests := []struct {
		name, sig, ts, nonce, enc string
		wantPrefix, wantSuffix    string
	}{
		{"url verification echostr", sampleVerifySig, sampleVerifyTS, sampleVerifyNonce, sampleVerifyEcho, "1616140317555161061", "1616140317555161061"},
		{"message", sampleMsgSig, sampleMsgTS, sampleMsgNonce, sampleMsgEnc,
			"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>", "<AgentID>218</AgentID>\n</xml>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Sign(tt.ts, tt.nonce, tt.enc); got != tt.sig {
				t.Errorf("Sign = %s, want the published %s", got, tt.sig)
			}
			if !c.Verify(strings.ToUpper(tt.sig), tt.ts, tt.nonce, tt.enc) {
				t.Error("Verify rejected the published signature (upper-case hex)")
			}
			if c.Verify(tt.sig, tt.ts, tt.nonce+"1", tt.enc) {
				t.Error("Verify accepted the signature for another nonce")
			}
			plain, err := c.Decrypt(tt.enc)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if !strings.HasPrefix(string(plain), tt.wantPrefix) || !strings.HasSuffix(string(plain), tt.wantSuffix) {
				t.Errorf("Decrypt = %q", plain)
			}
		})
	}
	t.Run("other corpid", func(t *testing.T) {
		other, err := NewCrypto(sampleToken, sampleAESKey, "wwsomeoneelse")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Decrypt(sampleMsgEnc); !errors.Is(err, ErrCorpID) {
			t.Errorf("Decrypt for another CorpID: %v, want ErrCorpID", err)
		}
	})
}

func TestRoundTrip(t *testing.T) {
	c := sampleCrypto(t)
	for _, n := range []int{0, 1, 11, 12, 13, 31, 32, 33, 100, 4096} {
		msg := bytes.Repeat([]byte("邮"), n)
		enc, err := c.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decrypt(enc)
		if err != nil {
			t.Fatalf("len %d: %v", len(msg), err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("len %d: round trip changed the message", len(msg))
		}
	}
	// Fixed random bytes give a reproducible ciphertext whose padding is
	// to 32 bytes: 16 + 4 + 5 + 18 = 43 bytes pad to 64, not 48.
	enc, err := c.EncryptFrom(bytes.NewReader(make([]byte, 16)), []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 64 {
		t.Errorf("ciphertext is %d bytes, want 64 (PKCS#7 to 32-byte blocks)", len(raw))
	}
}

func TestDecryptRejects(t *testing.T) {
	c := sampleCrypto(t)
	good, err := c.Encrypt([]byte("<xml/>"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.EncryptForCorpID([]byte("<xml/>"), "wxother")
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(good)
	flipped[len(flipped)-6] ^= 1
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"not base64", "%%%", ErrDecrypt},
		{"empty", "", ErrDecrypt},
		{"not whole blocks", "AAAA", ErrDecrypt},
		{"garbage blocks", strings.Repeat("A", 64), ErrDecrypt},
		{"tampered last block", string(flipped), ErrDecrypt},
		{"wrong corpid", other, ErrCorpID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Decrypt(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("Decrypt = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewCryptoConfig(t *testing.T) {
	tests := []struct {
		name          string
		token, aesKey api.Secret
		corp          string
	}{
		{"empty token", "", sampleAESKey, sampleCorpID},
		{"short key", sampleToken, api.Secret(sampleAESKey[:42]), sampleCorpID},
		{"key not base64", sampleToken, api.Secret(strings.Repeat("*", 43)), sampleCorpID},
		{"empty corpid", sampleToken, sampleAESKey, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCrypto(tt.token, tt.aesKey, tt.corp)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), string(tt.aesKey)) && tt.aesKey != "" {
				t.Errorf("error %q contains the key", err)
			}
		})
	}
	c := sampleCrypto(t)
	for _, s := range []string{c.String(), strings.TrimSpace(sprint(c))} {
		if strings.Contains(s, sampleAESKey) || strings.Contains(s, sampleToken) {
			t.Errorf("Crypto prints its keys: %s", s)
		}
	}
}
