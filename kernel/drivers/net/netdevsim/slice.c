// SPDX-License-Identifier: GPL-2.0
/*
 * netdevsim: netdev slices (ndo_slice_alloc / ndo_slice_steer / unsteer).
 *
 * A slice is a netdevice of its own that owns some of the port's queues;
 * the core allocates those queues and keeps the map (see
 * net/core/netdev_slice.c).  The simulated hardware does the rest:
 *
 *  - RX: a frame from the peer whose destination MAC is a slice's lands on
 *    one of that slice's queues, picked by flow hash (RSS) among exactly
 *    the queues the core says are steerable.  Other frames go to the
 *    port's own queues.  The frame is received on the port's hardware
 *    queue (its NAPI and counters) and handed to the slice netdevice with
 *    the slice's queue index recorded, so AF_XDP on the slice works.
 *  - Broadcast and multicast frames reach every steered slice too (a copy
 *    each, on its first steerable queue), as a NIC's internal switch
 *    replicates them to every function, so ARP and neighbour discovery
 *    work in both directions.
 *  - TX: slice TX queue i transmits on the port queue behind it.
 *  - Counters: a slice queue's qstats are those of the port queue behind it.
 *
 * Test knob: ports/N/queues/fail_slice_step fails the next slice-create at
 * a step (enum nsim_sfail_step): 1 allocating the netdevice, 2 steering
 * (after the queues were allocated and the netdevice registered).
 */

#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/rculist.h>
#include <net/netdev_qmgmt.h>
#include <net/netdev_queues.h>
#include <net/netlink.h>

#include "netdevsim.h"

/**
 * struct nsim_slice_rss - RX steering table of a slice
 * @rcu:	frees the table after readers are done
 * @n:		number of entries in @q
 * @q:		slice queue and port queue of each steerable RX queue
 */
struct nsim_slice_rss {
	struct rcu_head			rcu;
	unsigned int			n;
	struct netdev_slice_qmap	q[];
};

/**
 * struct nsim_slice - netdev_priv() of a slice netdevice
 * @dev:	the slice
 * @parent:	the port whose queues it owns; the core holds a reference
 * @node:	entry in @parent->slices while steered
 * @rss:	RX steering table, NULL while not steered
 * @listed:	@node is on @parent->slices
 */
struct nsim_slice {
	struct net_device		*dev;
	struct netdevsim		*parent;
	struct list_head		node;
	struct nsim_slice_rss __rcu	*rss;
	bool				listed;
};

static bool nsim_sfail(struct netdevsim *ns, enum nsim_sfail_step step)
{
	if (READ_ONCE(ns->qpool.slice_fail_step) != step)
		return false;
	WRITE_ONCE(ns->qpool.slice_fail_step, NSIM_SFAIL_NONE);
	return true;
}

static netdev_tx_t nsim_slice_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct nsim_slice *sl = netdev_priv(dev);
	int pq;

	pq = netdev_slice_parent_queue(dev, NETDEV_QUEUE_TYPE_TX,
				       skb_get_queue_mapping(skb));
	if (unlikely(pq < 0)) {
		dev_core_stats_tx_dropped_inc(dev);
		dev_kfree_skb_any(skb);
		return NETDEV_TX_OK;
	}
	return nsim_xmit_queue(sl->parent, skb, pq);
}

static void nsim_slice_queue_read(struct net_device *dev,
				  enum netdev_queue_type type, unsigned int i,
				  u64 *packets, u64 *bytes)
{
	struct nsim_slice *sl = netdev_priv(dev);
	int pq = netdev_slice_parent_queue(dev, type, i);

	*packets = 0;
	*bytes = 0;
	if (pq < 0)
		return;
	if (type == NETDEV_QUEUE_TYPE_RX)
		nsim_queue_stats_read(&sl->parent->rq[pq].stats, packets, bytes);
	else
		nsim_queue_stats_read(&sl->parent->tx_stats[pq], packets, bytes);
}

static void nsim_slice_get_stats64(struct net_device *dev,
				   struct rtnl_link_stats64 *stats)
{
	u64 packets, bytes;
	unsigned int i;

	for (i = 0; i < dev->num_rx_queues; i++) {
		nsim_slice_queue_read(dev, NETDEV_QUEUE_TYPE_RX, i,
				      &packets, &bytes);
		stats->rx_packets += packets;
		stats->rx_bytes += bytes;
	}
	for (i = 0; i < dev->num_tx_queues; i++) {
		nsim_slice_queue_read(dev, NETDEV_QUEUE_TYPE_TX, i,
				      &packets, &bytes);
		stats->tx_packets += packets;
		stats->tx_bytes += bytes;
	}
}

static int nsim_slice_get_iflink(const struct net_device *dev)
{
	struct nsim_slice *sl = netdev_priv(dev);

	return READ_ONCE(sl->parent->netdev->ifindex);
}

static const struct net_device_ops nsim_slice_netdev_ops = {
	.ndo_start_xmit		= nsim_slice_xmit,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_get_stats64	= nsim_slice_get_stats64,
	.ndo_get_iflink		= nsim_slice_get_iflink,
};

static void nsim_slice_get_queue_stats_rx(struct net_device *dev, int idx,
					  struct netdev_queue_stats_rx *stats)
{
	nsim_slice_queue_read(dev, NETDEV_QUEUE_TYPE_RX, idx,
			      &stats->packets, &stats->bytes);
}

static void nsim_slice_get_queue_stats_tx(struct net_device *dev, int idx,
					  struct netdev_queue_stats_tx *stats)
{
	nsim_slice_queue_read(dev, NETDEV_QUEUE_TYPE_TX, idx,
			      &stats->packets, &stats->bytes);
}

static void nsim_slice_get_base_stats(struct net_device *dev,
				      struct netdev_queue_stats_rx *rx,
				      struct netdev_queue_stats_tx *tx)
{
	rx->packets = 0;
	rx->bytes = 0;
	tx->packets = 0;
	tx->bytes = 0;
}

static const struct netdev_stat_ops nsim_slice_stat_ops = {
	.get_queue_stats_rx	= nsim_slice_get_queue_stats_rx,
	.get_queue_stats_tx	= nsim_slice_get_queue_stats_tx,
	.get_base_stats		= nsim_slice_get_base_stats,
};

static void nsim_slice_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &nsim_slice_netdev_ops;
	dev->stat_ops = &nsim_slice_stat_ops;
	dev->tx_queue_len = 0;
	dev->lltx = true;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE | IFF_NO_QUEUE;
	dev->features |= NETIF_F_HIGHDMA | NETIF_F_SG | NETIF_F_FRAGLIST |
			 NETIF_F_HW_CSUM | NETIF_F_TSO;
	dev->max_mtu = ETH_MAX_MTU;
}

/**
 * nsim_slice_alloc() - ndo_slice_alloc: allocate a slice netdevice
 * @dev:	the port
 * @cfg:	name, MAC and quota asked for
 * @extack:	netlink extended ack
 *
 * Return: the unregistered slice netdevice or an ERR_PTR().
 */
struct net_device *nsim_slice_alloc(struct net_device *dev,
				    const struct netdev_slice_cfg *cfg,
				    struct netlink_ext_ack *extack)
{
	struct netdevsim *ns = netdev_priv(dev);
	struct net_device *slice;
	struct nsim_slice *sl;

	if (nsim_sfail(ns, NSIM_SFAIL_ALLOC)) {
		NL_SET_ERR_MSG(extack, "netdevsim: injected failure allocating the slice");
		return ERR_PTR(-EIO);
	}
	slice = alloc_netdev_mqs(sizeof(*sl), cfg->name ?: "slice%d",
				 cfg->name ? NET_NAME_USER : NET_NAME_ENUM,
				 nsim_slice_setup, cfg->max_queues,
				 cfg->max_queues);
	if (!slice)
		return ERR_PTR(-ENOMEM);
	if (cfg->mac)
		eth_hw_addr_set(slice, cfg->mac);
	else
		eth_hw_addr_random(slice);

	sl = netdev_priv(slice);
	sl->dev = slice;
	sl->parent = ns;
	INIT_LIST_HEAD(&sl->node);
	return slice;
}

/**
 * nsim_slice_steer() - ndo_slice_steer: program RX steering of a slice
 * @dev:	the port
 * @slice:	the slice
 * @extack:	netlink extended ack
 *
 * Publishes a new table built from netdev_slice_queue_map(); the old one
 * stays on error.
 *
 * Return: 0 or a negative errno.
 */
int nsim_slice_steer(struct net_device *dev, struct net_device *slice,
		     struct netlink_ext_ack *extack)
{
	struct netdevsim *ns = netdev_priv(dev);
	struct nsim_slice *sl = netdev_priv(slice);
	struct nsim_slice_rss *rss, *old;

	if (nsim_sfail(ns, NSIM_SFAIL_STEER)) {
		NL_SET_ERR_MSG(extack, "netdevsim: injected failure steering the slice");
		return -EIO;
	}
	rss = kzalloc(struct_size(rss, q, slice->num_rx_queues), GFP_KERNEL);
	if (!rss)
		return -ENOMEM;
	rss->n = netdev_slice_queue_map(slice, NETDEV_QUEUE_TYPE_RX, rss->q,
					slice->num_rx_queues);

	old = rtnl_dereference(sl->rss);
	rcu_assign_pointer(sl->rss, rss);
	if (old)
		kfree_rcu(old, rcu);
	if (!sl->listed) {
		list_add_tail_rcu(&sl->node, &ns->slices);
		sl->listed = true;
	}
	return 0;
}

/**
 * nsim_slice_unsteer() - ndo_slice_unsteer: stop steering to a slice
 * @dev:	the port
 * @slice:	the slice; may never have been steered
 */
void nsim_slice_unsteer(struct net_device *dev, struct net_device *slice)
{
	struct nsim_slice *sl = netdev_priv(slice);
	struct nsim_slice_rss *old;

	if (sl->listed) {
		list_del_rcu(&sl->node);
		sl->listed = false;
	}
	old = rtnl_dereference(sl->rss);
	RCU_INIT_POINTER(sl->rss, NULL);
	if (old)
		kfree_rcu(old, rcu);
}

/**
 * nsim_slice_rx() - steer a frame arriving at a port to a slice
 * @ns:		receiving port
 * @skb:	frame, data at the Ethernet header
 * @slice:	set to the slice, or NULL if it has no queue to take the frame
 * @pq:		set to the port queue to receive on
 * @sq:		set to the slice queue index to record
 *
 * Called under rcu_read_lock() from the peer's transmit path.
 *
 * Return: true if the destination MAC is a slice's.
 */
bool nsim_slice_rx(struct netdevsim *ns, struct sk_buff *skb,
		   struct net_device **slice, unsigned int *pq, unsigned int *sq)
{
	const struct netdev_slice_qmap *q;
	const struct nsim_slice_rss *rss;
	const struct ethhdr *eth;
	struct nsim_slice *sl;

	if (list_empty(&ns->slices) || skb_headlen(skb) < ETH_HLEN)
		return false;
	eth = (const struct ethhdr *)skb->data;
	if (!is_unicast_ether_addr(eth->h_dest))
		return false;

	list_for_each_entry_rcu(sl, &ns->slices, node) {
		if (!ether_addr_equal(eth->h_dest, sl->dev->dev_addr))
			continue;
		rss = rcu_dereference(sl->rss);
		if (!rss || !rss->n) {
			*slice = NULL;
			return true;
		}
		q = &rss->q[reciprocal_scale(skb_get_hash(skb), rss->n)];
		*slice = sl->dev;
		*pq = q->parent_id;
		*sq = q->id;
		return true;
	}
	return false;
}

/**
 * nsim_slice_rx_flood() - copy a broadcast or multicast frame to every slice
 * @ns:		receiving port
 * @skb:	frame, data at the Ethernet header; not consumed
 *
 * Called under rcu_read_lock() from the peer's transmit path, before the
 * frame itself goes to the port's own queues.
 */
void nsim_slice_rx_flood(struct netdevsim *ns, struct sk_buff *skb)
{
	const struct netdev_slice_qmap *q;
	const struct nsim_slice_rss *rss;
	struct nsim_slice *sl;
	struct sk_buff *copy;
	struct nsim_rq *rq;

	if (list_empty(&ns->slices) || skb_headlen(skb) < ETH_HLEN ||
	    !is_multicast_ether_addr(((const struct ethhdr *)skb->data)->h_dest))
		return;

	list_for_each_entry_rcu(sl, &ns->slices, node) {
		rss = rcu_dereference(sl->rss);
		if (!rss || !rss->n)
			continue;
		q = &rss->q[0];
		rq = &ns->rq[q->parent_id];
		if (!READ_ONCE(rq->up))
			continue;
		copy = skb_clone(skb, GFP_ATOMIC);
		if (!copy)
			continue;
		if (nsim_forward_skb(sl->dev, copy, rq, q->id) == NET_RX_SUCCESS)
			napi_schedule(&rq->napi);
	}
}
