#!/usr/bin/perl
# stream_offsets.pl FILE: "INDEX OFFSET" for every command of a send
# stream (several streams back to back too), straight from the format
# (spec/send-stream.md: 17-byte header "btrfs-stream\0" + u32 version,
# then commands of u32 length, u16 type, u32 crc and `length` bytes),
# so tests can check the offsets btrsend reports against an independent
# count.
use strict;
use warnings;

open(my $f, '<:raw', $ARGV[0]) or die "$ARGV[0]: $!\n";
my ($off, $i, $buf) = (0, 0, '');
while (read($f, $buf, 10) == 10) {
	if (substr($buf, 0, 10) eq "btrfs-stre") {
		read($f, $buf, 7) == 7 or die "short stream header\n";
		$off += 17;
		next;
	}
	my ($len) = unpack('V', $buf);
	print "$i $off\n";
	seek($f, $len, 1) or die "seek: $!\n";
	$off += 10 + $len;
	$i++;
}
