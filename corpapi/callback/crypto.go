package callback

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/exmail-notifier/exmail-notifier/api"
)

// BlockSize is the PKCS#7 padding block of the scheme: 32 bytes, not
// AES's 16 ("数据采用PKCS#7填充至32字节的倍数", WeCom 加解密方案说明,
// https://developer.work.weixin.qq.com/document/path/91144). Decrypt
// accepts any pad length from 1 to 32.
const BlockSize = 32

// Reasons a callback is refused. Every error of Crypto, Handler and
// Decode matches exactly one of them with errors.Is. Their text names
// the reason and never a key, token, signature or ciphertext.
var (
	ErrSignature = errors.New("exmail callback: bad msg_signature")
	ErrTimestamp = errors.New("exmail callback: timestamp missing or outside the allowed window")
	ErrReplay    = errors.New("exmail callback: timestamp and nonce already seen (replay)")
	ErrCorpID    = errors.New("exmail callback: the message is for another CorpID")
	ErrDecrypt   = errors.New("exmail callback: ciphertext does not decrypt")
	ErrMalformed = errors.New("exmail callback: malformed request or message")
)

// Crypto signs, encrypts, verifies and decrypts messages with the
// WeChat-Work-style scheme (企业微信 "加解密方案说明") that the exmail
// 新邮件提醒 application uses in callback mode (protocol.md §5):
//
//	msg_signature = hex(sha1(sort(Token, timestamp, nonce, msg_encrypt) joined))
//	AESKey        = base64(EncodingAESKey + "=")           (43 chars → 32 bytes)
//	msg_encrypt   = base64(AES-256-CBC(AESKey, IV = AESKey[:16],
//	                  PKCS7₃₂(random(16) ‖ len(msg) as uint32 BE ‖ msg ‖ ReceiveID)))
//
// ReceiveID is the enterprise's CorpID. A Crypto is immutable and safe
// for concurrent use. It never prints its keys (see String).
type Crypto struct {
	token     api.Secret
	key       []byte
	block     cipher.Block
	receiveID string
}

// NewCrypto returns a Crypto for the Token and EncodingAESKey configured
// in the admin console and the enterprise's CorpID. The EncodingAESKey
// must be 43 base64 characters (a–z, A–Z, 0–9) decoding to 32 bytes.
func NewCrypto(token, encodingAESKey api.Secret, corpID string) (*Crypto, error) {
	if token == "" {
		return nil, errors.New("exmail callback: config: the Token is empty")
	}
	if corpID == "" {
		return nil, errors.New("exmail callback: config: the CorpID is empty")
	}
	ek := encodingAESKey.Reveal()
	if len(ek) != 43 {
		return nil, fmt.Errorf("exmail callback: config: the EncodingAESKey must be 43 characters, not %d", len(ek))
	}
	key, err := base64.StdEncoding.DecodeString(ek + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("exmail callback: config: the EncodingAESKey is not valid base64 of 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("exmail callback: config: %w", err)
	}
	return &Crypto{token: token, key: key, block: block, receiveID: corpID}, nil
}

// CorpID returns the receive id (CorpID) the Crypto encrypts for and
// checks on decryption.
func (c *Crypto) CorpID() string { return c.receiveID }

// String keeps the keys out of fmt and slog.
func (c *Crypto) String() string {
	return "callback.Crypto{corpid=" + c.receiveID + ", keys [redacted]}"
}

// GoString keeps the keys out of %#v.
func (c *Crypto) GoString() string { return c.String() }

// LogValue keeps the keys out of slog.
func (c *Crypto) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Sign returns msg_signature for a ciphertext (the base64 msg_encrypt, or
// echostr) sent with timestamp and nonce: the lower-case hex SHA-1 of the
// four strings Token, timestamp, nonce and ciphertext, sorted byte-wise
// and concatenated.
func (c *Crypto) Sign(timestamp, nonce, ciphertext string) string {
	return Sign(c.token, timestamp, nonce, ciphertext)
}

// Sign is Crypto.Sign for a bare Token.
func Sign(token api.Secret, timestamp, nonce, ciphertext string) string {
	parts := []string{token.Reveal(), timestamp, nonce, ciphertext}
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// Verify reports whether signature is the msg_signature of ciphertext,
// timestamp and nonce. The comparison takes constant time; the hex may be
// in either case.
func (c *Crypto) Verify(signature, timestamp, nonce, ciphertext string) bool {
	want := c.Sign(timestamp, nonce, ciphertext)
	got := strings.ToLower(strings.TrimSpace(signature))
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// Encrypt returns msg_encrypt for msg, with 16 random bytes from
// crypto/rand in front.
func (c *Crypto) Encrypt(msg []byte) (string, error) { return c.EncryptFrom(rand.Reader, msg) }

// EncryptFrom is Encrypt with the 16 leading random bytes read from r
// (tests use a fixed reader for reproducible output).
func (c *Crypto) EncryptFrom(r io.Reader, msg []byte) (string, error) {
	return encrypt(c.block, c.key[:aes.BlockSize], r, msg, c.receiveID)
}

// encryptFor is EncryptFrom with another receive id (the fake's
// wrong-CorpID fault uses it through EncryptForCorpID).
func encrypt(block cipher.Block, iv []byte, r io.Reader, msg []byte, receiveID string) (string, error) {
	if len(msg) > 1<<30 {
		return "", errors.New("exmail callback: message too large")
	}
	var buf bytes.Buffer
	random := make([]byte, 16)
	if _, err := io.ReadFull(r, random); err != nil {
		return "", fmt.Errorf("exmail callback: random bytes: %w", err)
	}
	buf.Write(random)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(msg)))
	buf.Write(n[:])
	buf.Write(msg)
	buf.WriteString(receiveID)
	pad := BlockSize - buf.Len()%BlockSize
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	out := buf.Bytes()
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, out)
	return base64.StdEncoding.EncodeToString(out), nil
}

// EncryptForCorpID encrypts msg as if the enterprise were corpID. Only
// for tests and the fake, which must be able to send a message for
// another enterprise.
func (c *Crypto) EncryptForCorpID(msg []byte, corpID string) (string, error) {
	return encrypt(c.block, c.key[:aes.BlockSize], rand.Reader, msg, corpID)
}

// Decrypt returns the message inside msg_encrypt (or echostr). It fails
// with ErrDecrypt when the text is not base64, not whole AES blocks, or
// its padding or length field is wrong, and with ErrCorpID when the
// message was encrypted for another receive id. Verify the signature
// first: Decrypt alone does not authenticate anything.
func (c *Crypto) Decrypt(ciphertext string) ([]byte, error) {
	msg, id, err := c.open(ciphertext)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(c.receiveID)) != 1 {
		return nil, ErrCorpID
	}
	return msg, nil
}

func (c *Crypto) open(ciphertext string) (msg []byte, receiveID string, err error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ciphertext))
	if err != nil {
		return nil, "", fmt.Errorf("%w: not base64", ErrDecrypt)
	}
	if len(raw) == 0 || len(raw)%aes.BlockSize != 0 {
		return nil, "", fmt.Errorf("%w: not a whole number of AES blocks", ErrDecrypt)
	}
	plain := make([]byte, len(raw))
	cipher.NewCBCDecrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(plain, raw)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > BlockSize || pad > len(plain) {
		return nil, "", fmt.Errorf("%w: bad padding", ErrDecrypt)
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, "", fmt.Errorf("%w: bad padding", ErrDecrypt)
		}
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, "", fmt.Errorf("%w: too short", ErrDecrypt)
	}
	n := binary.BigEndian.Uint32(plain[16:20])
	if uint64(n) > uint64(len(plain)-20) {
		return nil, "", fmt.Errorf("%w: bad length field", ErrDecrypt)
	}
	return plain[20 : 20+n], string(plain[20+n:]), nil
}
