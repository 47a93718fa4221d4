package storage

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/tenancy/platform/tenant"
)

// s3Store keeps each artifact as the object "<prefix>/<key>" of one
// bucket. A Put is always a multipart upload of PartSize parts (the
// stream's length is unknown), completed only after the stream's last
// byte: until then no object is visible, and a failed upload is aborted
// (minio-go aborts with a fresh context, so a cancelled Put too).
type s3Store struct {
	client   *minio.Client
	bucket   string
	prefix   string // "" or "a/b", no slash at either end
	endpoint string // scheme://host[:port], for messages
}

// s3MaxRetries bounds minio-go's retries (10 by default, about 8 s against
// a closed port) so an unreachable store is reported within a second.
const s3MaxRetries = 3

func openS3(u *url.URL, opts Options) (Store, error) {
	bucket := u.Host
	if err := s3utils.CheckValidBucketNameStrict(bucket); err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "backup storage URL s3://%s: invalid bucket name: %v", bucket, err)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := checkPath(prefix, "prefix"); err != nil {
			return nil, err
		}
	}
	host, secure, err := s3Endpoint(opts)
	if err != nil {
		return nil, err
	}
	if (opts.AccessKey == "") != (opts.SecretKey == "") {
		return nil, tenant.Errorf(tenant.EInvalid, "S3 options: give both the access key and the secret key, or neither")
	}
	region := opts.Region
	if region == "" {
		region = "us-east-1"
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 2 * time.Minute
	if secure && tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:       secure,
		Region:       region,
		Transport:    tr,
		BucketLookup: minio.BucketLookupAuto,
		MaxRetries:   s3MaxRetries,
	})
	if err != nil {
		return nil, tenant.Errorf(tenant.EInvalid, "S3 endpoint %q is not valid: %v", host, err)
	}
	scheme := "https"
	if !secure {
		scheme = "http"
	}
	return &s3Store{client: client, bucket: bucket, prefix: prefix, endpoint: scheme + "://" + host}, nil
}

// s3Endpoint returns host[:port] and whether to use TLS.
func s3Endpoint(opts Options) (host string, secure bool, err error) {
	ep := opts.Endpoint
	if ep == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(ep, "://") {
		if strings.ContainsAny(ep, "/?#@") {
			return "", false, tenant.Errorf(tenant.EInvalid, "S3 endpoint must be host[:port] or http(s)://host[:port]")
		}
		return ep, !opts.Insecure, nil
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false, tenant.Errorf(tenant.EInvalid, "S3 endpoint must be host[:port] or http(s)://host[:port], without credentials or path")
	}
	switch u.Scheme {
	case "https":
		return u.Host, true, nil
	case "http":
		if !opts.Insecure {
			return "", false, tenant.Errorf(tenant.EInvalid, "S3 endpoint %s is plain HTTP: credentials and artifacts would travel in clear; allow it explicitly (Insecure) or use https", u.Host)
		}
		return u.Host, false, nil
	default:
		return "", false, tenant.Errorf(tenant.EInvalid, "S3 endpoint scheme %q is not supported; want http or https", u.Scheme)
	}
}

func (s *s3Store) String() string {
	return (&url.URL{Scheme: "s3", Host: s.bucket, Path: "/" + s.prefix}).String()
}

func (s *s3Store) object(key string) string { return joinKey(s.prefix, key) }

// countingReader counts what the upload read and keeps the stream's own
// error, so Put can tell a failing source from a failing store.
type countingReader struct {
	ctx context.Context
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

func (s *s3Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	cr := &countingReader{ctx: ctx, r: r}
	info, err := s.client.PutObject(ctx, s.bucket, s.object(key), cr, -1, minio.PutObjectOptions{
		PartSize:    PartSize,
		ContentType: "application/octet-stream",
	})
	if err != nil {
		if cr.err != nil {
			return 0, cr.err // the caller's stream failed: its error, unchanged
		}
		return 0, s.translate(ctx, err, "cannot store "+key, key)
	}
	if info.Size != cr.n {
		return 0, unavailable(s, "stored "+key+" with a size other than the stream's", errors.New("size mismatch"))
	}
	return cr.n, nil
}

func (s *s3Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.translate(ctx, err, "cannot read "+key, key)
	}
	// GetObject is lazy: Stat sends the request, and its answer says
	// whether the object exists.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, s.translate(ctx, err, "cannot read "+key, key)
	}
	return &s3Reader{obj: obj, s: s, ctx: ctx, key: key}, nil
}

// s3Reader turns a failure in mid-read into the store's errors.
type s3Reader struct {
	obj *minio.Object
	s   *s3Store
	ctx context.Context
	key string
}

func (r *s3Reader) Read(p []byte) (int, error) {
	n, err := r.obj.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.translate(r.ctx, err, "cannot read "+r.key, r.key)
	}
	return n, err
}

func (r *s3Reader) Close() error { return r.obj.Close() }

func (s *s3Store) Stat(ctx context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	info, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return 0, s.translate(ctx, err, "cannot read "+key, key)
	}
	return info.Size, nil
}

func (s *s3Store) List(ctx context.Context, prefix string) ([]string, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	full := prefix
	if s.prefix != "" {
		full = s.prefix + "/" + prefix
	}
	ctx, cancel := context.WithCancel(ctx) // ends the listing goroutine on an early return
	defer cancel()
	keys := []string{}
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: full, Recursive: true}) {
		if obj.Err != nil {
			return nil, s.translate(ctx, obj.Err, listing(prefix), "")
		}
		key := obj.Key
		if s.prefix != "" {
			key = strings.TrimPrefix(key, s.prefix+"/")
		}
		if key == "" || strings.HasSuffix(key, "/") {
			continue // a directory marker, not an artifact
		}
		keys = append(keys, key)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *s3Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return s.translate(ctx, err, "cannot delete "+key, key)
	}
	return nil
}

// translate maps a minio-go error: the context's end stays the caller's,
// an absent object is ENotFound, and the store's own failures (cannot be
// reached, refuses the credentials, has no such bucket, answers 5xx) are
// EUnavailable with a message that names no credential.
func (s *s3Store) translate(ctx context.Context, err error, what, key string) error {
	if ctx.Err() != nil {
		return ctxErr(ctx, err)
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case minio.NoSuchKey:
		if key != "" {
			// A HEAD answer has no body: a 404 is all minio-go saw, and a
			// missing bucket must not pass for a missing artifact.
			if ok, berr := s.client.BucketExists(ctx, s.bucket); berr == nil && !ok {
				return unavailable(s, "bucket "+s.bucket+" does not exist at "+s.endpoint, err)
			}
			return notFound(s, key)
		}
	case minio.NoSuchBucket:
		return unavailable(s, "bucket "+s.bucket+" does not exist at "+s.endpoint, err)
	case minio.AccessDenied, "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
		return unavailable(s, what+": "+s.endpoint+" refused the credentials ("+resp.Code+")", err)
	}
	if resp.StatusCode >= 500 {
		return unavailable(s, what+": "+s.endpoint+" answered "+http.StatusText(resp.StatusCode), err)
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF) {
		return unavailable(s, what+": "+s.endpoint+" cannot be reached", err)
	}
	if resp.Code != "" {
		return unavailable(s, what+": "+s.endpoint+" answered "+resp.Code, err)
	}
	return err
}
