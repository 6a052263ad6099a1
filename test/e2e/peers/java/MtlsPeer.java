// The Java peer of the mTLS e2e harness: JSSE only (no libraries), reading the PKCS#12
// keystore and truststore a service gets mounted, as a JVM service would.
//
//   java MtlsPeer server --dir D [--allowed a,b] [--no-client-auth] [--max-seconds 600]
//       D holds keystore.p12, truststore.p12 and keystore-password. Serves HTTPS on
//       127.0.0.1 with an SSLServerSocket that needs a client certificate
//       (setNeedClientAuth(true)); answers GET with {"peer","cn","uris"} (200 for an
//       allowed CN, else 403). Prints "READY <port>"; exits on stdin EOF or after
//       --max-seconds. Every refused handshake is logged to stderr with the JSSE reason.
//   java MtlsPeer client --url https://NAME:PORT/api/data --connect 127.0.0.1:PORT --servername NAME
//       [--keystore F | --cert F --key F] [--truststore F | --ca F] [--password-file F]
//       [--timeout 8] [--tls 1.2]
//       Prints one JSON line like the other peers: outcome, status, body, serverCN, tlsVersion, error.
//       --key reads PKCS#8 PEM only (what OpenSSL 3 writes); --ca reads PEM certificates.
//   With --default-context, server and client instead set the javax.net.ssl.* system properties
//   from MTLS_KEYSTORE_FILE, MTLS_TRUSTSTORE_FILE, MTLS_KEYSTORE_TYPE and MTLS_KEYSTORE_PASSWORD,
//   as the project README shows, and use SSLContext.getDefault().
//   java MtlsPeer load --keystore F --truststore F --password-file F
//       Opens both stores as a service would at start-up and prints what they hold; exits 3
//       when either cannot be opened (a wrong password fails here, before any connection).
//
// Exit status: 0 as described, 2 usage error, 3 a store could not be loaded.

import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

public final class MtlsPeer {
    private static final String[] TLS_13_AND_12 = {"TLSv1.3", "TLSv1.2"};
    private static final String[] TLS_12 = {"TLSv1.2"};

    public static void main(String[] argv) throws Exception {
        if (argv.length < 1) usage("missing mode");
        Map<String, String> args = parse(argv);
        switch (argv[0]) {
            case "server": server(args); break;
            case "client": client(args); break;
            case "load": load(args); break;
            default: usage("unknown mode " + argv[0]);
        }
    }

    private static void usage(String why) {
        System.err.println("MtlsPeer: " + why + "; usage: MtlsPeer server|client|load [--flag value ...]");
        System.exit(2);
    }

    private static Map<String, String> parse(String[] argv) {
        Map<String, String> out = new HashMap<>();
        for (int i = 1; i < argv.length; i++) {
            String flag = argv[i];
            if (!flag.startsWith("--")) usage("unexpected argument " + flag);
            String name = flag.substring(2);
            if (name.equals("no-client-auth") || name.equals("default-context")) out.put(name, "true");
            else if (i + 1 < argv.length) out.put(name, argv[++i]);
            else usage(flag + " needs a value");
        }
        return out;
    }

    private static char[] password(Path file) throws IOException {
        // The Secret's value as mounted or as read from MTLS_KEYSTORE_PASSWORD: no newline is part of it.
        return Files.readString(file, StandardCharsets.US_ASCII).toCharArray();
    }

    /** Opens a PKCS#12 store as a service does at start-up; any failure is fatal to the caller. */
    private static KeyStore openStore(Path file, char[] password) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            store.load(in, password);
        }
        return store;
    }

    private static KeyStore pemTrust(Path file) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        int i = 0;
        try (InputStream in = Files.newInputStream(file)) {
            for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) store.setCertificateEntry("ca-" + i++, cert);
        }
        if (i == 0) throw new CertificateException("no certificate in " + file);
        return store;
    }

    private static KeyStore pemKeyPair(Path certFile, Path keyFile) throws Exception {
        List<Certificate> chain = new ArrayList<>();
        try (InputStream in = Files.newInputStream(certFile)) {
            chain.addAll(CertificateFactory.getInstance("X.509").generateCertificates(in));
        }
        String pem = Files.readString(keyFile, StandardCharsets.US_ASCII);
        if (!pem.contains("-----BEGIN PRIVATE KEY-----")) throw new IOException("the Java peer reads PKCS#8 PEM keys only (BEGIN PRIVATE KEY)");
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        PrivateKey key = null;
        for (String algorithm : new String[] {"EC", "RSA", "Ed25519", "Ed448"}) {
            try {
                key = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
                break;
            } catch (Exception notThisOne) {
                // try the next algorithm
            }
        }
        if (key == null) throw new IOException("unsupported private key in " + keyFile);
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("client", key, new char[0], chain.toArray(new Certificate[0]));
        return store;
    }

    private static SSLContext context(KeyStore keys, char[] keyPassword, KeyStore trust) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, keyPassword);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(keys == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    /** The README's plain-JSSE set-up: system properties from the environment, then the default context. */
    private static SSLContext defaultContext() throws Exception {
        System.setProperty("javax.net.ssl.keyStore", System.getenv("MTLS_KEYSTORE_FILE"));
        System.setProperty("javax.net.ssl.keyStoreType", System.getenv("MTLS_KEYSTORE_TYPE"));
        System.setProperty("javax.net.ssl.keyStorePassword", System.getenv("MTLS_KEYSTORE_PASSWORD"));
        System.setProperty("javax.net.ssl.trustStore", System.getenv("MTLS_TRUSTSTORE_FILE"));
        System.setProperty("javax.net.ssl.trustStoreType", System.getenv("MTLS_KEYSTORE_TYPE"));
        System.setProperty("javax.net.ssl.trustStorePassword", System.getenv("MTLS_KEYSTORE_PASSWORD"));
        return SSLContext.getDefault();
    }

    // ------------------------------------------------------------------ load

    private static void load(Map<String, String> args) {
        try {
            char[] pw = password(Path.of(req(args, "password-file")));
            KeyStore keys = openStore(Path.of(req(args, "keystore")), pw);
            KeyStore trust = openStore(Path.of(req(args, "truststore")), pw);
            StringBuilder out = new StringBuilder("{\"keystore\":[");
            boolean first = true;
            for (String alias : Collections.list(keys.aliases())) {
                Certificate[] chain = keys.getCertificateChain(alias);
                out.append(first ? "" : ",").append("{\"alias\":").append(json(alias))
                    .append(",\"key\":").append(keys.isKeyEntry(alias))
                    .append(",\"keyAlgorithm\":").append(json(keys.isKeyEntry(alias) ? keys.getKey(alias, pw).getAlgorithm() : null))
                    .append(",\"chain\":").append(chain == null ? 0 : chain.length).append("}");
                first = false;
            }
            out.append("],\"truststore\":[");
            first = true;
            for (String alias : Collections.list(trust.aliases())) {
                out.append(first ? "" : ",").append("{\"alias\":").append(json(alias)).append(",\"trusted\":").append(trust.isCertificateEntry(alias))
                    .append(",\"subject\":").append(json(((X509Certificate) trust.getCertificate(alias)).getSubjectX500Principal().getName())).append("}");
                first = false;
            }
            System.out.println(out.append("]}"));
        } catch (Exception e) {
            System.out.println("{\"outcome\":\"load_error\",\"error\":" + json(describe(e)) + "}");
            System.exit(3);
        }
    }

    // ------------------------------------------------------------------ server

    private static void server(Map<String, String> args) throws Exception {
        Path dir = Path.of(req(args, "dir"));
        boolean clientAuth = !args.containsKey("no-client-auth");
        Set<String> allowed = new HashSet<>();
        for (String cn : args.getOrDefault("allowed", "").split(",")) if (!cn.isBlank()) allowed.add(cn.trim());
        long maxSeconds = Long.parseLong(args.getOrDefault("max-seconds", "600"));
        SSLContext ctx;
        try {
            if (args.containsKey("default-context")) ctx = defaultContext();
            else {
                char[] pw = password(Path.of(args.getOrDefault("password-file", dir.resolve("keystore-password").toString())));
                ctx = context(openStore(dir.resolve("keystore.p12"), pw), pw, openStore(dir.resolve("truststore.p12"), pw));
            }
        } catch (Exception e) {
            System.err.println("java-server: cannot load the keystores: " + describe(e));
            System.exit(3);
            return;
        }
        SSLServerSocket listener = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        listener.setEnabledProtocols(TLS_13_AND_12);
        listener.setNeedClientAuth(clientAuth);
        System.out.println("READY " + listener.getLocalPort());
        System.out.flush();

        Thread stdin = new Thread(() -> {
            try {
                while (System.in.read() >= 0) { /* drain */ }
            } catch (IOException ignored) {
                // closed
            }
            System.err.println("java-server: stopping (stdin closed)");
            System.exit(0);
        });
        stdin.setDaemon(true);
        stdin.start();
        Thread timer = new Thread(() -> {
            try {
                Thread.sleep(maxSeconds * 1000);
            } catch (InterruptedException ignored) {
                return;
            }
            System.err.println("java-server: stopping (max-seconds reached)");
            System.exit(0);
        });
        timer.setDaemon(true);
        timer.start();

        while (true) {
            Socket socket = listener.accept();
            Thread worker = new Thread(() -> serve((SSLSocket) socket, allowed, clientAuth));
            worker.setDaemon(true);
            worker.start();
        }
    }

    private static void serve(SSLSocket socket, Set<String> allowed, boolean clientAuth) {
        try (socket) {
            socket.setSoTimeout(10_000);
            try {
                socket.startHandshake();
            } catch (IOException e) {
                System.err.println("java-server: TLS handshake failed: " + describe(e) + (certificateCause(e) ? " (the peer's certificate was rejected)" : ""));
                return;
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
            String line;
            while ((line = in.readLine()) != null && !line.isEmpty()) { /* request line and headers */ }
            String cn = null;
            List<String> uris = new ArrayList<>();
            try {
                X509Certificate leaf = (X509Certificate) socket.getSession().getPeerCertificates()[0];
                cn = commonName(leaf);
                uris = uriSans(leaf);
            } catch (SSLPeerUnverifiedException none) {
                // only without client auth
            }
            int status = 200;
            String error = null;
            if (cn == null && clientAuth) {
                status = 403;
                error = "no client certificate";
            } else if (cn != null && !allowed.contains(cn)) {
                status = 403;
                error = "client not allowed";
            }
            StringBuilder body = new StringBuilder("{\"peer\":\"java\",\"cn\":").append(json(cn)).append(",\"uris\":[");
            for (int i = 0; i < uris.size(); i++) body.append(i == 0 ? "" : ",").append(json(uris.get(i)));
            body.append("]").append(error == null ? "" : ",\"error\":" + json(error)).append("}\n");
            byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("HTTP/1.1 " + status + (status == 200 ? " OK" : " Forbidden") + "\r\nContent-Type: application/json\r\nContent-Length: "
                + bytes.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            System.err.println("java-server: connection failed: " + describe(e));
        }
    }

    private static String commonName(X509Certificate cert) {
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) return rdn.getValue().toString();
            }
        } catch (Exception ignored) {
            // no CN
        }
        return null;
    }

    private static List<String> uriSans(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) for (List<?> san : sans) if (Integer.valueOf(6).equals(san.get(0))) out.add(String.valueOf(san.get(1)));
        } catch (CertificateException ignored) {
            // none
        }
        return out;
    }

    // ------------------------------------------------------------------ client

    private static void client(Map<String, String> args) {
        URI url = URI.create(req(args, "url"));
        String[] connect = req(args, "connect").split(":");
        String serverName = req(args, "servername");
        int timeoutMs = (int) (Double.parseDouble(args.getOrDefault("timeout", "8")) * 1000);
        SSLContext ctx;
        try {
            if (args.containsKey("default-context")) throw new UseDefault();
            char[] pw = args.containsKey("password-file") ? password(Path.of(args.get("password-file"))) : new char[0];
            KeyStore keys = null;
            char[] keyPassword = pw;
            if (args.containsKey("keystore")) keys = openStore(Path.of(args.get("keystore")), pw);
            else if (args.containsKey("cert")) {
                keys = pemKeyPair(Path.of(args.get("cert")), Path.of(req(args, "key")));
                keyPassword = new char[0];
            }
            KeyStore trust = args.containsKey("truststore") ? openStore(Path.of(args.get("truststore")), pw) : pemTrust(Path.of(req(args, "ca")));
            ctx = context(keys, keyPassword, trust);
        } catch (UseDefault fromEnvironment) {
            try {
                ctx = defaultContext();
                // The default context does not open the stores until its first use: open them now, as a start-up check.
                ctx.getSocketFactory().createSocket().close();
            } catch (Exception e) {
                System.out.println("{\"outcome\":\"load_error\",\"error\":" + json("cannot load the keystores: " + describe(e)) + "}");
                System.exit(3);
                return;
            }
        } catch (Exception e) {
            System.out.println("{\"outcome\":\"load_error\",\"error\":" + json("cannot load the keystores: " + describe(e)) + "}");
            System.exit(3);
            return;
        }
        String tlsVersion = null;
        String serverCN = null;
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress(connect[0], Integer.parseInt(connect[1])), timeoutMs);
            plain.setSoTimeout(timeoutMs);
            SSLSocket socket = (SSLSocket) ctx.getSocketFactory().createSocket(plain, serverName, Integer.parseInt(connect[1]), true);
            SSLParameters params = socket.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            params.setServerNames(List.of(new SNIHostName(serverName)));
            params.setProtocols("1.2".equals(args.get("tls")) ? TLS_12 : TLS_13_AND_12);
            socket.setSSLParameters(params);
            socket.startHandshake();
            tlsVersion = socket.getSession().getProtocol();
            serverCN = commonName((X509Certificate) socket.getSession().getPeerCertificates()[0]);
            OutputStream out = socket.getOutputStream();
            String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + url.getPort() + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            byte[] response = socket.getInputStream().readAllBytes();
            String text = new String(response, StandardCharsets.UTF_8);
            if (!text.startsWith("HTTP/1.")) throw new EOFException("connection closed before an HTTP response (" + response.length + " bytes)");
            int status = Integer.parseInt(text.substring(9, 12));
            int bodyAt = text.indexOf("\r\n\r\n");
            String body = bodyAt < 0 ? "" : text.substring(bodyAt + 4).trim();
            System.out.println("{\"outcome\":\"http\",\"status\":" + status + ",\"body\":" + json(body) + ",\"serverCN\":" + json(serverCN)
                + ",\"tlsVersion\":" + json(tlsVersion) + "}");
        } catch (Exception e) {
            System.out.println("{\"outcome\":" + json(classify(e)) + ",\"error\":" + json(describe(e)) + ",\"serverCN\":" + json(serverCN)
                + ",\"tlsVersion\":" + json(tlsVersion) + "}");
        }
    }

    private static boolean certificateCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateException || t instanceof java.security.cert.CertPathValidatorException) return true;
        }
        return false;
    }

    /** The harness's outcome classes: who refused, and how. */
    private static String classify(Throwable e) {
        String all = describe(e);
        if (e instanceof ConnectException) return "connect_error";
        if (e instanceof SocketTimeoutException) return "timeout";
        if (all.contains("Received fatal alert")) return all.contains("close_notify") ? "reset" : "tls_remote";
        if (certificateCause(e)) return "tls_local";
        if (e instanceof EOFException || e instanceof SocketException || all.contains("Remote host terminated") || all.contains("Connection reset")
            || all.contains("Broken pipe")) return "reset";
        if (e instanceof SSLHandshakeException || e instanceof SSLException) return "tls_other";
        return "error";
    }

    // ------------------------------------------------------------------ helpers

    private static String req(Map<String, String> args, String name) {
        String v = args.get(name);
        if (v == null) usage("--" + name + " is required");
        return v;
    }

    private static String describe(Throwable e) {
        StringBuilder out = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (out.length() > 0) out.append(" <- ");
            out.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        }
        return out.toString();
    }

    private static String json(String s) {
        if (s == null) return "null";
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default:
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
            }
        }
        return out.append('"').toString();
    }

    /** Taken when the client is to use the default context instead of stores named by flags. */
    private static final class UseDefault extends Exception {
        private static final long serialVersionUID = 1L;
    }

    private MtlsPeer() {}
}
