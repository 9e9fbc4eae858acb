/* make bench's floor for the exporter figures: what libssl alone spends on the bench's handshake.
 * One thread, blocking sockets, a fresh connection and SSL per handshake (session tickets are off on
 * the server), the chain verified against CA_FILE with the host name checked, then close_notify.
 * Usage: bench-libssl-client CA_FILE FIRST_PORT PORTS HANDSHAKES
 * Prints the process's CPU time (user + system) per handshake, in ms. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s CA_FILE FIRST_PORT PORTS HANDSHAKES\n", argv[0]);
        return 2;
    }
    int first = atoi(argv[2]), ports = atoi(argv[3]), count = atoi(argv[4]);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, argv[1], NULL) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    double start = cpu_seconds();
    for (int i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(first + i % ports)),
                                       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        SSL *ssl = SSL_new(ctx);
        if (fd < 0 || ssl == NULL || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
            perror("connect");
            return 1;
        }
        SSL_set_fd(ssl, fd);
        SSL_set_tlsext_host_name(ssl, "localhost");
        SSL_set1_host(ssl, "localhost");
        if (SSL_connect(ssl) != 1) {
            ERR_print_errors_fp(stderr);
            return 1;
        }
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
    }
    printf("%.3f\n", (cpu_seconds() - start) / count * 1000);
    SSL_CTX_free(ctx);
    return 0;
}
