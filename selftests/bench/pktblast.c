// SPDX-License-Identifier: GPL-2.0
/*
 * pktblast: send UDP frames to a MAC as fast as AF_PACKET allows, so that a
 * receive-side benchmark measures the receiver, not a Python sender.
 *
 *   pktblast IFNAME DST-MAC SECONDS [FLOWS]
 *
 * Frames: IPv4/UDP, 60 bytes, FLOWS source ports (default 16), sent in
 * batches of 64 with sendmmsg() and PACKET_QDISC_BYPASS.  Prints the number
 * of frames the kernel accepted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	64
#define FRAME	60
#define MAXFLOW	256

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t csum(const void *data, size_t len)
{
	const uint16_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *p++;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static void build(uint8_t *f, const uint8_t *dst, const uint8_t *src, int flow)
{
	struct ether_header *eth = (void *)f;
	struct iphdr *ip = (void *)(f + sizeof(*eth));
	struct udphdr *udp = (void *)(ip + 1);

	memset(f, 0, FRAME);
	memcpy(eth->ether_dhost, dst, 6);
	memcpy(eth->ether_shost, src, 6);
	eth->ether_type = htons(ETHERTYPE_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(FRAME - sizeof(*eth));
	ip->saddr = htonl(0xc0000201);		/* 192.0.2.1 */
	ip->daddr = htonl(0xc0000202);		/* 192.0.2.2 */
	ip->check = csum(ip, sizeof(*ip));
	udp->source = htons(20000 + flow);
	udp->dest = htons(9);
	udp->len = htons(FRAME - sizeof(*eth) - sizeof(*ip));
}

int main(int argc, char **argv)
{
	static uint8_t frames[MAXFLOW][FRAME];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	unsigned int dst[6];
	uint8_t dmac[6], smac[6];
	struct ifreq ifr = { 0 };
	unsigned long long sent = 0;
	int fd, one = 1, flows = 16, i, n;
	double end;

	if (argc < 4 || sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &dst[0], &dst[1],
			       &dst[2], &dst[3], &dst[4], &dst[5]) != 6) {
		fprintf(stderr, "usage: %s IFNAME DST-MAC SECONDS [FLOWS]\n", argv[0]);
		return 2;
	}
	if (argc > 4)
		flows = atoi(argv[4]);
	if (flows < 1 || flows > MAXFLOW) {
		fprintf(stderr, "FLOWS must be 1..%d\n", MAXFLOW);
		return 2;
	}
	for (i = 0; i < 6; i++)
		dmac[i] = dst[i];
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror(argv[1]);
		return 1;
	}
	memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	sll.sll_ifindex = if_nametoindex(argv[1]);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("bind");
		return 1;
	}
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	for (i = 0; i < flows; i++)
		build(frames[i], dmac, smac, i);
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = frames[i % flows];
		iov[i].iov_len = FRAME;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	end = now() + atof(argv[3]);
	while (now() < end) {
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n < 0) {
			if (errno == ENOBUFS || errno == EAGAIN)
				continue;
			perror("sendmmsg");
			return 1;
		}
		sent += n;
	}
	printf("%llu\n", sent);
	close(fd);
	return 0;
}
