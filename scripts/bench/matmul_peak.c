// The f32 matmul throughput oneDNN reaches on this CPU, outside Agon: a cached matmul
// primitive and dnnl_sgemm on one thread. Build and run with scripts/bench/matmul-peak.sh.
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  int M=atoi(argv[1]),K=atoi(argv[2]),N=atoi(argv[3]); int ta=argc>4?atoi(argv[4]):0;
  dnnl_engine_t eng; dnnl_engine_create(&eng,dnnl_cpu,0); dnnl_stream_t st; dnnl_stream_create(&st,eng,dnnl_stream_default_flags);
  dnnl_memory_desc_t a,b,c; dnnl_dims_t da={M,K},db={K,N},dc={M,N};
  dnnl_dims_t sa={K,1}; if(ta){sa[0]=1;sa[1]=M;}
  dnnl_memory_desc_init_by_strides(&a,2,da,dnnl_f32,sa);
  dnnl_memory_desc_init_by_tag(&b,2,db,dnnl_f32,dnnl_ab);
  dnnl_memory_desc_init_by_tag(&c,2,dc,dnnl_f32,dnnl_ab);
  dnnl_matmul_desc_t d; dnnl_matmul_desc_init(&d,&a,&b,NULL,&c);
  dnnl_primitive_desc_t pd; dnnl_primitive_desc_create(&pd,&d,NULL,eng,NULL);
  const char*impl; dnnl_primitive_desc_query(pd,dnnl_query_impl_info_str,0,&impl);
  dnnl_primitive_t p; dnnl_primitive_create(&p,pd);
  float*A=aligned_alloc(64,M*K*4),*B=aligned_alloc(64,K*N*4),*C=aligned_alloc(64,M*N*4);
  for(int i=0;i<M*K;i++)A[i]=1;for(int i=0;i<K*N;i++)B[i]=1;
  dnnl_memory_t ma,mb,mc; dnnl_memory_create(&ma,&a,eng,A);dnnl_memory_create(&mb,&b,eng,B);dnnl_memory_create(&mc,&c,eng,C);
  dnnl_exec_arg_t args[3]={{DNNL_ARG_SRC,ma},{DNNL_ARG_WEIGHTS,mb},{DNNL_ARG_DST,mc}};
  for(int i=0;i<100;i++){dnnl_primitive_execute(p,st,3,args);dnnl_stream_wait(st);}
  int n=5000; double t0=now();
  for(int i=0;i<n;i++){dnnl_primitive_execute(p,st,3,args);dnnl_stream_wait(st);}
  double t=(now()-t0)/n;
  printf("%s %dx%dx%d ta=%d: %.1f us, %.1f GFLOP/s\n",impl,M,K,N,ta,t*1e6,2.0*M*N*K/t/1e9);
  t0=now();
  for(int i=0;i<n;i++){dnnl_sgemm(ta?'T':'N','N',M,N,K,1,A,ta?M:K,B,N,0,C,N);}
  t=(now()-t0)/n; printf("  sgemm: %.1f us, %.1f GFLOP/s\n",t*1e6,2.0*M*N*K/t/1e9);
}
