/**
 * The few messages of the kubelet's PodResources API v1 (k8s.io/kubelet/pkg/apis/podresources/v1,
 * service `v1.PodResourcesLister`) that the agent reads, decoded by hand with the OTLP decoder's
 * ProtoReader: no .proto loading at run time, no generated code. Pure. Fields we do not need
 * (cpu_ids, memory, topology, dynamic_resources) are skipped, so newer kubelets that add fields
 * still decode.
 *
 *   ListPodResourcesResponse      { repeated PodResources pod_resources = 1; }
 *   PodResources                  { string name = 1; string namespace = 2; repeated ContainerResources containers = 3; }
 *   ContainerResources            { string name = 1; repeated ContainerDevices devices = 2; … }
 *   ContainerDevices              { string resource_name = 1; repeated string device_ids = 2; … }
 *   AllocatableResourcesResponse  { repeated ContainerDevices devices = 1; … }
 * Both requests are empty messages.
 */

import { ProtoReader } from '../../formats/otlp/protobuf';

export const LIST_METHOD = '/v1.PodResourcesLister/List';
export const ALLOCATABLE_METHOD = '/v1.PodResourcesLister/GetAllocatableResources';

export interface ContainerDevices {
  resourceName: string;
  deviceIds: string[];
}

export interface ContainerResources {
  name: string;
  devices: ContainerDevices[];
}

export interface PodResources {
  name: string;
  namespace: string;
  containers: ContainerResources[];
}

const LEN = 2;

function devices(r: ProtoReader): ContainerDevices {
  const out: ContainerDevices = { resourceName: '', deviceIds: [] };
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) out.resourceName = r.string();
    else if (tag === ((2 << 3) | LEN)) out.deviceIds.push(r.string());
    else r.skip(tag);
  }
  return out;
}

function nested<T>(r: ProtoReader, read: (r: ProtoReader) => T): T {
  const saved = r.enter();
  const v = read(r);
  r.leave(saved);
  return v;
}

function container(r: ProtoReader): ContainerResources {
  const out: ContainerResources = { name: '', devices: [] };
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) out.name = r.string();
    else if (tag === ((2 << 3) | LEN)) out.devices.push(nested(r, devices));
    else r.skip(tag);
  }
  return out;
}

function pod(r: ProtoReader): PodResources {
  const out: PodResources = { name: '', namespace: '', containers: [] };
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) out.name = r.string();
    else if (tag === ((2 << 3) | LEN)) out.namespace = r.string();
    else if (tag === ((3 << 3) | LEN)) out.containers.push(nested(r, container));
    else r.skip(tag);
  }
  return out;
}

/** Decodes a ListPodResourcesResponse. Throws ProtobufDecodeError (with the byte offset) on malformed input. */
export function decodeListResponse(buf: Uint8Array): PodResources[] {
  const r = new ProtoReader(buf);
  const out: PodResources[] = [];
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) out.push(nested(r, pod));
    else r.skip(tag);
  }
  return out;
}

/** Decodes an AllocatableResourcesResponse: the devices the kubelet can hand out. */
export function decodeAllocatableResponse(buf: Uint8Array): ContainerDevices[] {
  const r = new ProtoReader(buf);
  const out: ContainerDevices[] = [];
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) out.push(nested(r, devices));
    else r.skip(tag);
  }
  return out;
}
